"""Storing a WordPress export (:class:`blog.porting.wxr_read.WxrDocument`) in one transaction.

What becomes what:
- Authors become users with the role author and an unusable password ("!"), matched by login
  (a login our usernames cannot hold, such as "john smith", becomes its slug, "john-smith").
- Categories (with their parents) and tags are matched by slug; WordPress's percent-encoded
  slugs are decoded ("%d0%bd..." becomes "н..."). A category's description keeps its markup
  (WordPress's HTML with its paragraphs, rendered and sanitized like a post body).
- Posts and pages become posts (pages of the kind "page", below their parent page), matched by
  slug: a post whose slug already exists is taken to be already imported and only its missing
  comments are added. Status: publish -> published, future -> published with its future date
  (scheduled); draft, pending, private and password-protected posts -> draft; trash,
  auto-draft, revisions and other types are skipped; the menu items make the site menu, and the
  old addresses of everything become redirects (:mod:`.wxr_addresses`). Attachments are
  skipped too, unless a copy of the uploads folder is given: their images then come into the
  media library (:mod:`.wxr_media`).
- The body is WordPress's HTML with shortcodes, embeds and paragraphs applied
  (:func:`wordpress_html`; ``<!--more-->`` and ``<!--nextpage-->`` kept), stored as the post's
  source and rendered through our sanitizer like any other.
- With ``site_settings``: the site title and tagline (the channel's), each post's sticky flag
  and post format.
- Comments of every type (pingbacks too: WordPress counts them) keep their status (1 approved,
  0 pending, spam, trash), type (comment, pingback, trackback), times and threading; a
  comment is already there when its post has one with the same email, time (to the second)
  and text. Each new comment gets a ModerationEvent by the system with the reason "imported",
  and the counts move with :mod:`blog.comments.transitions`.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import flag_modified

from blog.accounts.author_slugs import public_slug
from blog.comments.transitions import create_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import (
    Category,
    Comment,
    CommentStatus,
    CommentType,
    Post,
    PostKind,
    PostStatus,
    Role,
    Tag,
    User,
    utcnow,
)
from blog.porting.wordpress_content import comment_text, wordpress_html
from blog.porting.wxr_addresses import Imported, finish_import
from blog.porting.wxr_media import UploadMap, Uploads, add_rows, read_uploads
from blog.porting.wxr_read import WxrComment, WxrDocument, WxrError, WxrItem, WxrTerm
from blog.posts.authoring import default_category, make_slug, render_description
from blog.posts.excerpts import automatic_excerpt
from blog.posts.media import render_post_body
from blog.sanitize import (
    SanitizeFailed,
    html_to_text,
    safe_http_url,
    sanitize_author_html,
    sanitize_comment,
)
from blog.settings import stage_settings

IMPORTED_TYPES = ("post", "page")
UNUSABLE_PASSWORD = "!"
FALLBACK_LOGIN = "imported"
IMPORT_REASON = "imported"
# Where our own export keeps a post's Markdown, so that a round trip restores it exactly.
SOURCE_META_KEY = "_blog_body_source"
DESCRIPTION_META_KEY = "_blog_description_source"  # a category's, in its wp:termmeta
POST_FORMATS = frozenset(
    {"aside", "gallery", "link", "image", "quote", "status", "video", "audio", "chat"}
)
COMMENT_STATUSES = {
    "1": CommentStatus.APPROVED,
    "approve": CommentStatus.APPROVED,
    "0": CommentStatus.PENDING,
    "hold": CommentStatus.PENDING,
    "spam": CommentStatus.SPAM,
    "trash": CommentStatus.TRASH,
    "post-trashed": CommentStatus.TRASH,
}
PUBLISHED_STATUSES = ("publish", "future")
DRAFT_STATUSES = ("draft", "pending", "private")
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SLUG_UNSAFE = re.compile(r"[\s/?#\\%<>\"'`]+")

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """How many of each kind were created, found already there, or skipped (by reason)."""

    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    # Attachments whose file did not come into the media library: (file, why).
    files_left_out: list[tuple[str, str]] = field(default_factory=list)


def import_wxr(
    document: WxrDocument,
    progress: Progress | None = None,
    site_settings: bool = False,
    uploads: Path | None = None,
) -> ImportReport:
    """Store the document in one transaction and commit; on any error nothing is stored. With
    ``site_settings``, the site title, tagline, sticky flags and post formats come too. With
    ``uploads`` (a copy of the old site's ``wp-content/uploads``), the attachments' files come
    into the media library (:mod:`.wxr_media`): ``progress`` then counts the attachments too
    (:func:`progress_steps`)."""
    step = progress or (lambda _n: None)
    files = read_uploads(document, uploads, step) if uploads is not None else None
    try:
        return _import(document, step, site_settings, files)
    except BaseException:
        if files is not None:
            files.discard()  # their rows were never stored
        raise


def progress_steps(document: WxrDocument, uploads: bool) -> int:
    """How many steps :func:`import_wxr` reports: one an item, and one an attachment's file."""
    files = sum(1 for item in document.items if item.post_type == "attachment") if uploads else 0
    return len(document.items) + files


def _import(
    document: WxrDocument, progress: Progress, site_settings: bool, files: Uploads | None
) -> ImportReport:
    begin_write()
    try:
        report = _Importer(document, site_settings, files).run(progress)
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        raise WxrError(f"The import failed and nothing was stored: {error}") from error
    except SanitizeFailed as error:
        db.session.rollback()
        raise WxrError(f"The import failed and nothing was stored: {error.message}") from error
    except BaseException:
        db.session.rollback()
        raise
    return report


def clean_text(text: str, limit: int) -> str:
    return _CONTROL.sub("", text).strip()[:limit]


def plain_text(raw: str, limit: int) -> str:
    """A title or name as text: WordPress's entities decoded, tags dropped, spaces collapsed."""
    text = clean_text(raw, 100_000)
    if "<" not in text and "&" not in text:  # nothing to decode or drop: skip the parser
        return " ".join(text.split())[:limit]
    return html_to_text(sanitize_author_html(text))[:limit]


def wordpress_slug(raw: str, fallback: str) -> str:
    """WordPress's slug, percent-decoded, made safe for one URL path segment."""
    slug = _SLUG_UNSAFE.sub("-", _CONTROL.sub("", unquote(raw.strip()))).strip("-")[:190]
    return slug or make_slug(fallback)


def username_for(login: str, wp_id: int | None = None) -> str:
    login = clean_text(login, 60)
    if _USERNAME.fullmatch(login):
        return login
    return make_slug(login, max_length=60) if login else f"author-{wp_id or 0}"


def item_skip_reason(item: WxrItem) -> str | None:
    """Why an item is not imported, or None."""
    if item.post_type not in IMPORTED_TYPES:
        return item.post_type
    if item.status not in PUBLISHED_STATUSES + DRAFT_STATUSES:
        return item.status or "no status"
    return None


def assign_slugs(items: Iterable[WxrItem]) -> list[str]:
    """Each item's slug, unique within the file, the same on every run for the same file.

    Drafts have no post_name in WordPress: theirs come from the title.
    """
    items = list(items)
    explicit = [wordpress_slug(i.post_name, i.title) if i.post_name else "" for i in items]
    taken = set(filter(None, explicit))
    slugs: list[str] = []
    used: set[str] = set()
    for item, slug in zip(items, explicit, strict=True):
        base = slug or make_slug(plain_text(item.title, 300) or "untitled")
        candidate, n = base, 2
        while candidate in used or (not slug and candidate in taken):
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        slugs.append(candidate)
    return slugs


def comment_type_of(kind: str) -> CommentType:
    """WordPress's comment_type ("" before WordPress 5.5) as ours; a plugin's own type (a
    review, a webmention) is a comment."""
    try:
        return CommentType(kind.strip().lower() or CommentType.COMMENT)
    except ValueError:
        return CommentType.COMMENT


class _Importer:
    def __init__(
        self, document: WxrDocument, site_settings: bool = False, files: Uploads | None = None
    ) -> None:
        self.document = document
        self.site_settings = site_settings
        self.files = files
        self.report = ImportReport()
        self.users: dict[str, User] = {}
        self.users_by_wp_id: dict[int, User] = {}
        self.categories: dict[str, Category] = {}
        self.tags: dict[str, Tag] = {}
        self.category_slug_by_term_id: dict[int, str] = {}
        self.posts_by_wp_id: dict[int, Post] = {}
        self.new_posts: list[Post] = []

    def run(self, progress: Progress) -> ImportReport:
        for author in self.document.authors:
            user = self._user(author.login, author.display_name, author.email, author.wp_id)
            if author.wp_id is not None:
                self.users_by_wp_id[author.wp_id] = user
        if self.site_settings:
            self._site_settings()
        uploads = self._media()
        self._categories(self.document.categories)
        for term in self.document.tags:
            self._tag(term)
        items = self.document.items
        slugs = assign_slugs(items)
        for item, slug in zip(items, slugs, strict=True):
            reason = item_skip_reason(item)
            if reason is None:
                self._item(item, slug)
            elif reason != "nav_menu_item" and not (reason == "attachment" and self.files):
                self.report.skipped[reason] += 1  # (menu items make the site menu)
            progress(1)
        self._finish(uploads)
        return self.report

    def _media(self) -> UploadMap:
        """The attachments' media rows (their files are written already), and where each old
        upload address now leads."""
        if self.files is None:
            return UploadMap()
        add_rows(self.files, lambda item: self.users.get(username_for(item.creator)))
        self.report.created["media"] += len(self.files.new)
        self.report.existing["media"] += len(self.files.found)
        self.report.files_left_out.extend(self.files.problems)
        return self.files.map(self.document)

    def _finish(self, uploads: UploadMap) -> None:
        """Page parents, old addresses, links in content and the menu (.wxr_addresses)."""
        imported = Imported(
            document=self.document,
            posts=self.posts_by_wp_id,
            new_posts=self.new_posts,
            users=self.users_by_wp_id,
            categories=self.categories,
            category_slugs=self.category_slug_by_term_id,
            tags={
                unquote(t.slug): self.tags[wordpress_slug(t.slug, t.name)]
                for t in self.document.tags
                if t.slug and wordpress_slug(t.slug, t.name) in self.tags
            },
            uploads=uploads,
        )
        finish_import(imported)
        self.report.created.update(imported.report_created)
        self.report.existing.update(imported.report_existing)

    def _site_settings(self) -> None:
        """The site title and tagline, as WordPress wrote them in the channel."""
        changes = {
            "site_title": plain_text(self.document.title, 200),
            "tagline": plain_text(self.document.description, 500),
        }
        stage_settings({name: value for name, value in changes.items() if value})
        self.report.created["site settings"] += 1

    # --- people and terms ---

    def _user(self, login: str, display_name: str, email: str, wp_id: int | None) -> User:
        username = username_for(login or FALLBACK_LOGIN, wp_id)
        if username in self.users:
            return self.users[username]
        user = db.session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            name = plain_text(display_name, 250) or username
            user = User(
                username=username,
                display_name=name,
                slug=public_slug(name, username),
                email=clean_text(email, 100),
                password_hash=UNUSABLE_PASSWORD,
                role=Role.AUTHOR,
            )
            db.session.add(user)
            db.session.flush()
            self.report.created["authors"] += 1
        else:
            self.report.existing["authors"] += 1
        self.users[username] = user
        return user

    def _categories(self, terms: list[WxrTerm]) -> None:
        created: list[tuple[Category, str]] = []
        for term in terms:
            category, new = self._category(term)
            if term.term_id is not None:
                self.category_slug_by_term_id[term.term_id] = category.slug
            if new and term.parent:
                created.append((category, wordpress_slug(term.parent, term.parent)))
        # Parents once every category exists: a file may name a parent after its child.
        for category, parent_slug in created:
            parent = self.categories.get(parent_slug)
            if parent is not None and category not in _ancestors(parent):
                category.parent = parent
        db.session.flush()

    def _category(self, term: WxrTerm) -> tuple[Category, bool]:
        slug = wordpress_slug(term.slug, term.name)
        if slug in self.categories:
            return self.categories[slug], False
        category = db.session.scalars(select(Category).where(Category.slug == slug)).first()
        new = category is None
        if category is None:
            source = term.meta.get(DESCRIPTION_META_KEY)
            if source is None:
                source = wordpress_html(clean_text(term.description, 100_000))
            category = Category(
                name=plain_text(term.name, 200) or slug,
                slug=slug,
                description=source,
                description_html=render_description(source),
            )
            db.session.add(category)
            db.session.flush()
            self.report.created["categories"] += 1
        else:
            self.report.existing["categories"] += 1
        self.categories[slug] = category
        return category, new

    def _tag(self, term: WxrTerm) -> Tag:
        slug = wordpress_slug(term.slug, term.name)
        if slug in self.tags:
            return self.tags[slug]
        tag = db.session.scalars(select(Tag).where(Tag.slug == slug)).first()
        if tag is None:
            tag = Tag(name=plain_text(term.name, 200) or slug, slug=slug)
            db.session.add(tag)
            db.session.flush()
            self.report.created["tags"] += 1
        else:
            self.report.existing["tags"] += 1
        self.tags[slug] = tag
        return tag

    # --- posts ---

    def _item(self, item: WxrItem, slug: str) -> None:
        post = db.session.scalars(select(Post).where(Post.slug == slug)).first()
        kind = "pages" if item.post_type == "page" else "posts"
        if post is not None and item.wp_id is not None:
            self.posts_by_wp_id[item.wp_id] = post
        if post is None:
            post = self._new_post(item, slug)
            self.new_posts.append(post)
            if item.wp_id is not None:
                self.posts_by_wp_id[item.wp_id] = post
            modified = post.updated_at
            self._comments(post, item.comments)
            # Moving the comment count touches updated_at (its onupdate); WordPress's own
            # modification time is the one to keep.
            db.session.execute(
                update(Post)
                .where(Post.id == post.id)
                .values(updated_at=modified)
                .execution_options(synchronize_session=False)
            )
            self.report.created[kind] += 1
        else:
            self.report.existing[kind] += 1
            self._comments(post, item.comments)
            if self.site_settings:
                db.session.execute(
                    update(Post)
                    .where(Post.id == post.id)
                    .values(**_site_flags(item), updated_at=Post.updated_at)
                    .execution_options(synchronize_session=False)
                )

    def _new_post(self, item: WxrItem, slug: str) -> Post:
        author = self._user(item.creator, item.creator, "", None)
        page = item.post_type == "page"  # a page has no categories or tags
        categories = [] if page else [self._category(t)[0] for t in item.categories]
        categories = list(dict.fromkeys(categories)) or ([] if page else [default_category()])
        primary = self._primary(item, categories) if categories else None
        source = item.meta.get(SOURCE_META_KEY)
        if source is None:
            source = wordpress_html(clean_text(item.content, 10_000_000))
        body_html = render_post_body(source)  # images of the library: srcset
        excerpt = plain_text(item.excerpt, 10_000) or automatic_excerpt(source, body_html)
        published = item.status in PUBLISHED_STATUSES and not item.password
        created = item.date or utcnow()
        post = Post(
            title=plain_text(item.title, 300) or "(no title)",
            slug=slug,
            body_source=source,
            body_html=body_html,
            excerpt=excerpt,
            author=author,
            categories=categories,
            primary_category=primary,
            tags=[] if page else list(dict.fromkeys(self._tag(t) for t in item.tags)),
            kind=PostKind.PAGE if page else PostKind.POST,
            menu_order=item.menu_order,
            status=PostStatus.PUBLISHED if published else PostStatus.DRAFT,
            published_at=created if published else None,
            created_at=created,
            updated_at=max(item.modified or created, created),
            comments_open=item.comments_open,
            **(_site_flags(item) if self.site_settings else {}),
        )
        db.session.add(post)
        db.session.flush()
        return post

    def _primary(self, item: WxrItem, categories: list[Category]) -> Category:
        # Yoast SEO's primary category, when the site used it (its breadcrumbs show that one).
        term_id = item.meta.get("_yoast_wpseo_primary_category", "").strip()
        slug = self.category_slug_by_term_id.get(int(term_id)) if term_id.isdigit() else None
        return next((c for c in categories if c.slug == slug), categories[0])

    # --- comments ---

    def _comments(self, post: Post, comments: list[WxrComment]) -> None:
        existing = {
            _comment_key(c.author_email, c.created_at, c.body_source): c
            for c in db.session.scalars(select(Comment).where(Comment.post_id == post.id))
        }
        by_wp_id: dict[int, Comment] = {}
        added: list[tuple[Comment, CommentStatus]] = []
        parent_wp_ids: list[int] = []
        for wxr in sorted(comments, key=lambda c: c.wp_id):
            body = clean_text(comment_text(wxr.content), 1_000_000)
            created = wxr.date or post.created_at
            found = existing.get(_comment_key(clean_text(wxr.email, 100), created, body))
            if found is not None:
                by_wp_id[wxr.wp_id] = found
                self.report.existing["comments"] += 1
                continue
            comment = self._new_comment(post, wxr, body, created)
            by_wp_id[wxr.wp_id] = comment
            added.append(
                (comment, COMMENT_STATUSES.get(wxr.approved.lower(), CommentStatus.PENDING))
            )
            parent_wp_ids.append(wxr.parent_wp_id)
        create_comments(added, IMPORT_REASON, at=utcnow())
        for (comment, _), parent_wp_id in zip(added, parent_wp_ids, strict=True):
            parent = by_wp_id.get(parent_wp_id)
            if parent is not None and parent is not comment:
                comment.parent_id = parent.id
                flag_modified(comment, "updated_at")  # kept as in the file, not onupdate's now
        self.report.created["comments"] += len(added)

    def _new_comment(self, post: Post, wxr: WxrComment, body: str, created: datetime) -> Comment:
        user = self.users_by_wp_id.get(wxr.user_wp_id) if wxr.user_wp_id else None
        comment = Comment(
            post_id=post.id,
            author_name=html.unescape(clean_text(wxr.author, 245))[:245],
            author_email=clean_text(wxr.email, 100),
            author_url=(safe_http_url(clean_text(wxr.url, 200)) or "")[:200],
            user_id=user.id if user is not None else None,
            body_source=body,
            body_html=sanitize_comment(body),
            comment_type=comment_type_of(wxr.kind),
            ip_address=clean_text(wxr.ip, 45),
            created_at=created,
            updated_at=created,
        )
        return comment


def _site_flags(item: WxrItem) -> dict[str, object]:
    post_format = item.post_format.lower()
    return {
        "sticky": item.sticky,
        "post_format": post_format if post_format in POST_FORMATS else "",
    }


def _comment_key(email: str, created: datetime, body: str) -> tuple[str, datetime, str]:
    return email.lower(), created.replace(microsecond=0), body


def _ancestors(category: Category) -> list[Category]:
    chain: list[Category] = []
    current: Category | None = category
    while current is not None and current not in chain:
        chain.append(current)
        current = current.parent
    return chain
