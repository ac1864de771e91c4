"""Writing posts: slugs, categories, tags; creating, updating, publishing and deleting posts.

The form's functions take the acting user and check the role matrix (blog.permissions) before
they write, so the HTML views, the API and the CLI share one rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slugify import slugify
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from blog.database import begin_write
from blog.extensions import db
from blog.models import (
    Category,
    Post,
    PostKind,
    PostRevision,
    PostStatus,
    RedirectTarget,
    Tag,
    User,
    utcnow,
)
from blog.permissions import ALL, Action, NotAllowed, can, ensure, may_stick, scope
from blog.posts import pages, redirects
from blog.posts.excerpts import automatic_excerpt, typed_excerpt
from blog.posts.media import render_post_body
from blog.sanitize import SanitizeFailed, render_markdown

MAX_ROW_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL
DEFAULT_CATEGORY_SLUG = "uncategorized"
DEFAULT_CATEGORY_NAME = "Uncategorized"


def make_slug(text: str, max_length: int = 190) -> str:
    """A URL slug from any text (unicode transliterated), never empty."""
    return slugify(text, max_length=max_length, word_boundary=True) or "untitled"


def unique_slug(
    model: type[Post] | type[Category] | type[Tag], text: str, exclude_id: int | None = None
) -> str:
    """``make_slug(text)``, with ``-2``, ``-3``... appended while another row has it."""
    base = make_slug(text)
    taken_stmt = select(model.slug).where(model.slug.like(f"{base}%"))
    if exclude_id is not None:
        taken_stmt = taken_stmt.where(model.id != exclude_id)
    taken = set(db.session.scalars(taken_stmt))
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


def slug_of_typed(
    model: type[Post] | type[Category],
    label: InstrumentedAttribute[str],
    typed: str,
    exclude_id: int | None,
) -> tuple[str, str | None]:
    """The slug made from what was typed, and the ``label`` (title, name) of another row of
    ``model`` that has it already."""
    slug = make_slug(typed)
    taken = select(label).where(model.slug == slug)
    if exclude_id is not None:
        taken = taken.where(model.id != exclude_id)
    return slug, db.session.scalar(taken)


def default_category() -> Category:
    """The "Uncategorized" category, created when missing (it cannot be deleted)."""
    found = db.session.scalars(
        select(Category).where(Category.slug == DEFAULT_CATEGORY_SLUG)
    ).first()
    if found is None:
        found = Category(name=DEFAULT_CATEGORY_NAME, slug=DEFAULT_CATEGORY_SLUG)
        db.session.add(found)
        db.session.flush()
    return found


def render_description(description: str) -> str:
    """A category's description as its page shows it: Markdown or HTML (WordPress's, with its
    links and emphasis), rendered and sanitized like a post body. Raises SanitizeFailed."""
    return render_markdown(description) if description.strip() else ""


def get_or_create_category(
    name: str, parent: Category | None = None, description: str = ""
) -> Category:
    slug = make_slug(name)
    found = db.session.scalars(select(Category).where(Category.slug == slug)).first()
    if found is None:
        found = Category(
            name=name.strip(),
            slug=unique_slug(Category, name),
            parent=parent,
            description=description,
            description_html=render_description(description),
        )
        db.session.add(found)
        db.session.flush()
    return found


def get_or_create_tags(names: Sequence[str]) -> list[Tag]:
    """Tags by name, created on the fly; blank and repeated names ignored."""
    tags: list[Tag] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        slug = make_slug(name)
        found = db.session.scalars(select(Tag).where(Tag.slug == slug)).first()
        if found is None:
            found = Tag(name=name, slug=slug)
            db.session.add(found)
            db.session.flush()
        if found not in tags:
            tags.append(found)
    return tags


def create_post(
    author: User,
    title: str,
    body: str,
    *,
    excerpt: str = "",
    categories: Sequence[Category] = (),
    primary: Category | None = None,
    tags: Sequence[str] = (),
    status: PostStatus = PostStatus.PUBLISHED,
    published_at: datetime | None = None,
    comments_open: bool = True,
    slug: str | None = None,
    commit: bool = True,
) -> Post:
    """Create a post with its Markdown rendered and sanitized; "Uncategorized" when no category."""
    chosen = list(categories) or [default_category()]
    primary = primary if primary in chosen else chosen[0]
    body_html = render_post_body(body)
    post = Post(
        title=title.strip(),
        slug=unique_slug(Post, slug or title),
        body_source=body,
        body_html=body_html,
        excerpt=excerpt.strip() or automatic_excerpt(body, body_html),
        author=author,
        categories=chosen,
        primary_category=primary,
        tags=get_or_create_tags(tags),
        status=status,
        published_at=published_at or (utcnow() if status == PostStatus.PUBLISHED else None),
        comments_open=comments_open,
    )
    db.session.add(post)
    keep_revision(post, author)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return post


# --- The post form's domain side: writing, updating, publishing, deleting -----------------------

MAX_TITLE = 300
MAX_BODY = 500_000
# Characters that become markup or character references (<, >, &): html5lib appends each
# reference to one growing text node, which costs the square of their number (100,000 "<" took
# 2 s, 200,000 took 6 s; 50,000 take under 1 s). A post with this many is code pasted whole.
MAX_BODY_MARKUP = 50_000
MAX_EXCERPT = 5_000
MAX_TAGS = 50
MAX_TAG_NAME = 100
MAX_CATEGORY_NAME = 200


class PostRejected(ValueError):
    """The post was not saved; ``fields`` maps form fields to messages for people."""

    def __init__(self, fields: dict[str, str], message: str = "") -> None:
        self.fields = fields
        self.message = message or "The post was not saved: please correct the marked fields."
        super().__init__(self.message)


@dataclass(frozen=True)
class PostChanges:
    """What the post form (or the API) asks for. ``author_id`` None keeps the current author
    (the writer, for a new post); ``slug`` empty means "from the title"."""

    title: str
    body: str
    excerpt: str = ""
    slug: str = ""
    category_ids: tuple[int, ...] = ()
    primary_category_id: int | None = None
    new_category: str = ""
    tags: tuple[str, ...] = ()
    status: PostStatus = PostStatus.DRAFT
    published_at: datetime | None = None
    comments_open: bool = True
    # Stuck to the top of the home page (posts only); changed only by those permissions.may_stick
    # allows, as WordPress does: anyone else's save keeps the post's flag as it is.
    sticky: bool = False
    author_id: int | None = None
    kind: PostKind = PostKind.POST  # for a new one; a post never becomes a page, nor back
    parent_id: int | None = None  # pages only: the parent page


def changes_of(post: Post) -> PostChanges:
    """The post as it is, in the form of changes: what an edit (a PATCH, a restore) starts
    from."""
    return PostChanges(
        title=post.title,
        body=post.body_source,
        excerpt=typed_excerpt(post),
        slug=post.slug,
        category_ids=tuple(c.id for c in post.categories),
        primary_category_id=post.primary_category_id,
        tags=tuple(t.name for t in post.tags),
        status=post.status,
        published_at=post.published_at,
        comments_open=post.comments_open,
        sticky=post.sticky,
    )


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """Text without NUL and other control characters (PostgreSQL refuses NUL in text)."""
    allowed = "\t\n\r" if keep_newlines else "\t"
    return "".join(ch for ch in text if ch in allowed or ord(ch) >= 32)


def parse_tags(text: str) -> tuple[str, ...]:
    """Comma-separated tag names, trimmed, blanks and repeats (ignoring case) dropped."""
    seen: set[str] = set()
    names: list[str] = []
    for raw in clean_text(text).split(","):
        name = " ".join(raw.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return tuple(names)


def preview_html(body: str) -> str:
    """The body as readers will see it: Markdown rendered, then sanitized for authors.

    Raises PostRejected (the body's message) when a parser fails on it."""
    errors: dict[str, str] = {}
    rendered = _rendered(clean_text(body, keep_newlines=True), errors)
    if errors:
        raise PostRejected(errors, "The preview failed: please correct the marked fields.")
    return rendered


def _rendered(body: str, errors: dict[str, str]) -> str:
    """The body's HTML; "" and a message in ``errors["body"]`` when a parser fails on it."""
    try:
        return render_post_body(body)
    except SanitizeFailed as failed:
        errors["body"] = failed.message
        return ""


def write_post(actor: User, changes: PostChanges) -> Post:
    """Create a post from the form as ``actor``. Raises NotAllowed or PostRejected."""
    ensure(actor, Action.CREATE_POST)
    return _save(actor, None, changes)


def update_post(actor: User, post: Post, changes: PostChanges) -> Post:
    """Save the form over an existing post. Raises NotAllowed or PostRejected."""
    ensure(actor, Action.EDIT_POST, post)
    return _save(actor, post.id, changes)


def publish_post(actor: User, post: Post) -> Post:
    """Publish now (or at its scheduled date, when that is still ahead)."""
    ensure(actor, Action.PUBLISH_POST, post)
    post_id = post.id
    begin_write()
    found = _require_post(post_id)
    found.status = PostStatus.PUBLISHED
    if found.published_at is None:
        found.published_at = utcnow()
    db.session.commit()
    return found


def unpublish_post(actor: User, post: Post) -> Post:
    """Back to draft: readers no longer see it."""
    ensure(actor, Action.PUBLISH_POST, post)
    post_id = post.id
    begin_write()
    found = _require_post(post_id)
    found.status = PostStatus.DRAFT
    db.session.commit()
    return found


def delete_post(actor: User, post: Post) -> None:
    """Delete a post for good, with its comments (the database cascades)."""
    ensure(actor, Action.DELETE_POST, post)
    post_id = post.id
    begin_write()
    found = db.session.get(Post, post_id)
    if found is not None and found.kind == PostKind.PAGE:
        pages.lift_children(found)
    db.session.execute(delete(Post).where(Post.id == post_id))
    db.session.commit()


def keep_revision(post: Post, saver: User) -> PostRevision:
    """Add the post's title, text and excerpt as they are now, saved by ``saver``, to its
    revisions, in the caller's transaction (blog.posts.revisions reads them)."""
    revision = PostRevision(
        post=post,
        title=post.title,
        body_source=post.body_source,
        excerpt=post.excerpt,
        author_id=saver.id,
        author_name=saver.display_name or saver.username,
    )
    db.session.add(revision)
    return revision


def _require_post(post_id: int) -> Post:
    found = db.session.get(Post, post_id)
    if found is None:
        db.session.rollback()
        raise PostRejected({}, "That post no longer exists.")
    return found


def _body_size_error(body: str) -> str:
    """Why the body is too large to render within a second, or ""."""
    if len(body) > MAX_BODY:
        return f"The text has {len(body):,} characters; the limit is {MAX_BODY:,}."
    markup = body.count("<") + body.count(">") + body.count("&")
    if markup > MAX_BODY_MARKUP:
        return (
            f"The text has {markup:,} of the characters <, > and &; the limit is "
            f"{MAX_BODY_MARKUP:,}. Please split it into several posts."
        )
    return ""


def _validate_text(changes: PostChanges, errors: dict[str, str]) -> tuple[str, str, str]:
    title = " ".join(clean_text(changes.title).split())
    body = clean_text(changes.body, keep_newlines=True)
    excerpt = clean_text(changes.excerpt, keep_newlines=True).strip()
    if not title:
        errors["title"] = "Please give the post a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Titles have at most {MAX_TITLE} characters."
    body_error = _body_size_error(body)
    if body_error:
        errors["body"] = body_error
    if len(excerpt) > MAX_EXCERPT:
        errors["excerpt"] = f"Excerpts have at most {MAX_EXCERPT:,} characters."
    if len(changes.tags) > MAX_TAGS:
        errors["tags"] = f"A post has at most {MAX_TAGS} tags."
    elif any(len(clean_text(t)) > MAX_TAG_NAME for t in changes.tags):
        errors["tags"] = f"Tag names have at most {MAX_TAG_NAME} characters."
    if len(clean_text(changes.new_category).strip()) > MAX_CATEGORY_NAME:
        errors["new_category"] = f"Category names have at most {MAX_CATEGORY_NAME} characters."
    return title, body, excerpt


def _choose_categories(
    actor: User, changes: PostChanges, errors: dict[str, str]
) -> tuple[list[Category], Category | None]:
    wanted = set(changes.category_ids)
    if changes.primary_category_id is not None:
        wanted.add(changes.primary_category_id)
    # An id no row can have (the form's or the API's number past the column's range) is
    # simply not found, instead of an overflow in the database driver.
    possible = [i for i in wanted if 0 < i <= MAX_ROW_ID]
    found = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_(possible)))}
    if wanted - found.keys():
        errors["categories"] = "One of the chosen categories no longer exists."
    chosen = [found[i] for i in changes.category_ids if i in found]
    primary = found.get(changes.primary_category_id) if changes.primary_category_id else None
    if primary is not None and primary not in chosen:
        chosen.insert(0, primary)
    name = " ".join(clean_text(changes.new_category).split())
    if name and not errors:
        if not can(actor, Action.MANAGE_CATEGORIES):
            errors["new_category"] = "Only editors and admins may add categories."
        else:
            created = get_or_create_category(name)
            if created not in chosen:
                chosen.append(created)
            primary = primary or created
    return chosen, primary


def _resolve_author(actor: User, post: Post | None, changes: PostChanges) -> int:
    current = post.author_id if post is not None else actor.id
    if changes.author_id is None or changes.author_id == current:
        return current
    if scope(actor, Action.EDIT_POST) != ALL:
        raise NotAllowed(Action.EDIT_POST, "You may not give a post to another author.")
    return changes.author_id


def _checked_author(
    actor: User, post: Post | None, changes: PostChanges, errors: dict[str, str]
) -> int:
    """The post's author id; a message in ``errors`` when that author is not active. Raises
    NotAllowed when ``actor`` may not publish the post (or for that author)."""
    author_id = _resolve_author(actor, post, changes)
    author = db.session.get(User, author_id)
    if author is None or not author.active:
        errors["author"] = "Choose an active author."
    was_public = post is not None and post.status == PostStatus.PUBLISHED
    if changes.status == PostStatus.PUBLISHED or was_public:
        target = post or Post(author_id=author_id)
        ensure(actor, Action.PUBLISH_POST, target)
        if post is not None and author_id != post.author_id:
            ensure(actor, Action.PUBLISH_POST, Post(author_id=author_id))
    return author_id


def _publication_time(post: Post | None, changes: PostChanges) -> datetime | None:
    """The publication time to store: the typed one (UTC, its seconds kept when only the
    minutes were shown), the earlier one, or now for a post being published."""
    was_public = post is not None and post.status == PostStatus.PUBLISHED
    published_at = changes.published_at
    if published_at is not None and published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)  # the form's dates are UTC
    if (
        post is not None
        and published_at is not None
        and post.published_at is not None
        and post.published_at.replace(second=0, microsecond=0) == published_at
    ):
        published_at = post.published_at  # the form shows minutes; keep the seconds
    if changes.status == PostStatus.PUBLISHED and published_at is None:
        published_at = (post.published_at if was_public and post else None) or utcnow()
    return published_at


def _classified(
    actor: User, post: Post | None, changes: PostChanges, errors: dict[str, str]
) -> tuple[list[Category], Category | None]:
    """A post's categories and primary one; a page has none, and a parent checked instead."""
    kind = post.kind if post is not None else changes.kind
    if kind == PostKind.PAGE:
        problem = pages.parent_error(post.id if post else None, changes.parent_id)
        if problem:
            errors["parent"] = problem
        return [], None
    chosen, primary = _choose_categories(actor, changes, errors)
    return chosen or ([] if errors else [default_category()]), primary


def _addresses(post: Post | None) -> dict[int, str]:
    """The redirect keys of a published post's address (a page's, and its subpages'), by id,
    before a change: those that move are recorded as old addresses (blog.posts.redirects)."""
    if post is None or post.status != PostStatus.PUBLISHED:
        return {}
    if post.kind == PostKind.PAGE:
        return {pid: f"/{path}" for pid, path in pages.page_paths().items()}
    return {post.id: f"/blog/{post.slug}"}


def _record_moves(post: Post, before: dict[int, str]) -> None:
    """After a save (flushed here): each address in ``before`` that moved leads to its post."""
    db.session.flush()
    after = _addresses(post) if before else {}
    for target_id, old in before.items():
        new = after.get(target_id)
        if new is not None and new != old:
            redirects.forget(redirects.address_key(new))
            key = redirects.address_key(old)
            if key is not None:
                redirects.add_redirect(key, RedirectTarget.POST, target_id)


def _save(actor: User, post_id: int | None, changes: PostChanges) -> Post:
    errors: dict[str, str] = {}
    title, body, excerpt = _validate_text(changes, errors)
    body_html = _rendered(body, errors) if "body" not in errors else ""
    begin_write()
    try:
        post = _require_post(post_id) if post_id is not None else None
        author_id = _checked_author(actor, post, changes, errors)
        slug = _choose_slug(title, changes.slug, post_id, errors)
        chosen, primary = _classified(actor, post, changes, errors)
        if errors:
            raise PostRejected(errors)
        published_at = _publication_time(post, changes)
        before = _addresses(post)
        if post is None:
            post = Post(author_id=author_id, kind=changes.kind)
            db.session.add(post)
        if post.kind == PostKind.PAGE:
            post.parent_id = changes.parent_id
        post.title = title
        post.slug = slug
        post.body_source = body
        post.body_html = body_html
        post.excerpt = excerpt or automatic_excerpt(body, body_html)
        post.author_id = author_id
        post.categories = chosen
        post.primary_category = primary if primary in chosen else next(iter(chosen), None)
        post.tags = get_or_create_tags(changes.tags) if post.kind == PostKind.POST else []
        post.status = changes.status
        post.published_at = published_at
        post.comments_open = changes.comments_open
        if may_stick(actor):
            post.sticky = changes.sticky and post.kind == PostKind.POST
        keep_revision(post, actor)
        _record_moves(post, before)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise PostRejected({"slug": "Another post was saved with this slug just now."}) from None
    except Exception:
        db.session.rollback()
        raise
    return post


def _choose_slug(title: str, typed: str, post_id: int | None, errors: dict[str, str]) -> str:
    typed = clean_text(typed).strip()
    if not typed:
        return unique_slug(Post, title or "untitled", exclude_id=post_id)
    slug, other = slug_of_typed(Post, Post.title, typed, post_id)
    if other is not None:
        errors["slug"] = f"The address “{slug}” is used by the post “{other}”. Choose another."
    return slug
