"""Writing WordPress eXtended RSS 1.2: what WordPress's Tools > Export writes, from our data.

WordPress's importer (and :mod:`blog.porting.wxr_import`) reads it back: authors, categories with
their parents and descriptions, tags, every post with its status, sticky flag and post format,
and every comment with its status, type (comment, pingback, trackback) and threading.
Texts that WordPress keeps HTML-escaped (titles, names) are escaped; bodies are the rendered,
sanitized HTML, with the Markdown source kept in the post meta ``_blog_body_source`` so that our
own importer restores it exactly. Everything sits in CDATA sections, "]]>" split as WordPress
does. Posts are read in batches, so a large site is written in bounded memory.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TextIO
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from blog.extensions import db
from blog.models import Category, Comment, CommentStatus, Post, PostStatus, Tag, User, utcnow
from blog.porting.wxr_import import DESCRIPTION_META_KEY, SOURCE_META_KEY
from blog.posts.feeds import xml_safe
from blog.posts.menus import MenuItem
from blog.posts.pages import address_of
from blog.posts.reading import category_chain

WXR_VERSION = "1.2"
MENU_SLUG = "menu"
NAMESPACES = {
    "excerpt": "http://wordpress.org/export/1.2/excerpt/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "wp": "http://wordpress.org/export/1.2/",
}
APPROVED_VALUES = {
    CommentStatus.APPROVED: "1",
    CommentStatus.PENDING: "0",
    CommentStatus.SPAM: "spam",
    CommentStatus.TRASH: "trash",
    CommentStatus.UNCONFIRMED: "0",  # WordPress has no such status: held, as it would be
}
ZERO_DATE = "0000-00-00 00:00:00"
BATCH = 200


@dataclass(frozen=True)
class ExportCounts:
    authors: int = 0
    categories: int = 0
    tags: int = 0
    posts: int = 0
    comments: int = 0


def cdata(text: str) -> str:
    """A CDATA section; "]]>" inside is split across two sections, as WordPress's wxr_cdata."""
    return "<![CDATA[" + xml_safe(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _escaped(text: str) -> str:
    return cdata(html.escape(text, quote=False))


def _attr(text: str) -> str:
    return html.escape(xml_safe(text), quote=True)


def _wp_status(post: Post) -> str:
    """WordPress's status of a post: a draft, scheduled ("future") or published."""
    if post.status != PostStatus.PUBLISHED or post.published_at is None:
        return "draft"
    return "future" if post.published_at > utcnow() else "publish"


def _wp_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ZERO_DATE


def export_wxr(
    out: TextIO,
    site_url: str,
    site_title: str,
    tagline: str,
    menu: Sequence[MenuItem] = (),
) -> ExportCounts:
    """Write every author, category, tag, post (and page) and comment to ``out``, and the site
    menu as WordPress's menu items; links use ``site_url``.

    Needs an application context that can build URLs (a request context, or SERVER_NAME).
    """
    writer = _Writer(out, site_url.rstrip("/"))
    writer.header(site_title, tagline)
    counts = ExportCounts(
        authors=writer.authors(),
        categories=writer.categories(),
        tags=writer.tags(),
    )
    if menu:
        writer.menu_term()
    posts, comments = writer.items()
    writer.menu(menu)
    out.write("</channel>\n</rss>\n")
    return ExportCounts(counts.authors, counts.categories, counts.tags, posts, comments)


class _Writer:
    def __init__(self, out: TextIO, site: str) -> None:
        self.out = out
        self.site = site

    def line(self, text: str, indent: int = 1) -> None:
        self.out.write("\t" * indent + text + "\n")

    def element(self, name: str, value: str, indent: int = 2) -> None:
        self.line(f"<{name}>{value}</{name}>", indent)

    def header(self, title: str, tagline: str) -> None:
        self.out.write('<?xml version="1.0" encoding="UTF-8" ?>\n')
        self.out.write(
            "<!-- This is a WordPress eXtended RSS file, an export of this blog. "
            "WordPress's importer (Tools > Import > WordPress) reads it. -->\n"
        )
        namespaces = "".join(f'\n\txmlns:{k}="{v}"' for k, v in NAMESPACES.items())
        self.out.write(f'<rss version="2.0"{namespaces}\n>\n\n<channel>\n')
        self.element("title", _attr(title), 1)
        self.element("link", _attr(self.site), 1)
        self.element("description", _attr(tagline), 1)
        self.element("pubDate", format_datetime(utcnow()), 1)
        self.element("language", "en", 1)
        self.element("wp:wxr_version", WXR_VERSION, 1)
        self.element("wp:base_site_url", _attr(self.site), 1)
        self.element("wp:base_blog_url", _attr(self.site), 1)
        self.out.write("\n")

    def authors(self) -> int:
        users = db.session.scalars(
            select(User).where(User.id.in_(select(Post.author_id))).order_by(User.id)
        ).all()
        for user in users:
            self.line("<wp:author>")
            self.element("wp:author_id", str(user.id))
            self.element("wp:author_login", cdata(user.username))
            self.element("wp:author_email", cdata(user.email))
            self.element("wp:author_display_name", _escaped(user.display_name))
            self.element("wp:author_first_name", cdata(""))
            self.element("wp:author_last_name", cdata(""))
            self.line("</wp:author>")
        return len(users)

    def categories(self) -> int:
        # Parents before their children, as WordPress writes them.
        categories = db.session.scalars(select(Category)).unique().all()
        ordered = sorted(categories, key=lambda c: (len(category_chain(c)), c.slug))
        for category in ordered:
            self.line("<wp:category>")
            self.element("wp:term_id", str(category.id))
            self.element("wp:category_nicename", cdata(category.slug))
            parent = category.parent.slug if category.parent is not None else ""
            self.element("wp:category_parent", cdata(parent))
            self.element("wp:cat_name", _escaped(category.name))
            # What WordPress holds (HTML), and our source for our own importer.
            self.element("wp:category_description", cdata(category.description_html))
            if category.description:
                self.meta(DESCRIPTION_META_KEY, category.description, "termmeta", 2)
            self.line("</wp:category>")
        return len(ordered)

    def tags(self) -> int:
        tags = db.session.scalars(select(Tag).order_by(Tag.slug)).all()
        for tag in tags:
            self.line("<wp:tag>")
            self.element("wp:term_id", str(tag.id))
            self.element("wp:tag_slug", cdata(tag.slug))
            self.element("wp:tag_name", _escaped(tag.name))
            self.line("</wp:tag>")
        return len(tags)

    def items(self) -> tuple[int, int]:
        posts = comments = 0
        for batch in _post_batches():
            by_post = _comments_of([p.id for p in batch])
            for post in batch:
                self.item(post, by_post.get(post.id, []))
                posts += 1
                comments += len(by_post.get(post.id, []))
        return posts, comments

    def item(self, post: Post, comments: list[Comment]) -> None:
        # url_for's path holds the site's own path already (the script root): the origin only.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.site))
        link = origin + address_of(post)
        published = post.status == PostStatus.PUBLISHED and post.published_at is not None
        date = post.published_at if published else post.created_at
        self.line("<item>")
        self.element("title", _escaped(post.title))
        self.element("link", _attr(link))
        self.element("pubDate", format_datetime(date) if date else "")
        self.element("dc:creator", cdata(post.author.username))
        self.line(f'<guid isPermaLink="false">{_attr(link)}</guid>', 2)
        self.element("description", "")
        self.element("content:encoded", cdata(post.body_html))
        self.element("excerpt:encoded", _escaped(post.excerpt))
        self.element("wp:post_id", str(post.id))
        self.element("wp:post_date", cdata(_wp_date(date)))
        self.element("wp:post_date_gmt", cdata(_wp_date(date if published else None)))
        self.element("wp:post_modified", cdata(_wp_date(post.updated_at)))
        self.element("wp:post_modified_gmt", cdata(_wp_date(post.updated_at)))
        self.element("wp:comment_status", cdata("open" if post.comments_open else "closed"))
        self.element("wp:ping_status", cdata("closed"))
        self.element("wp:post_name", cdata(post.slug))
        self.element("wp:status", cdata(_wp_status(post)))
        self.element("wp:post_parent", str(post.parent_id or 0))
        self.element("wp:menu_order", str(post.menu_order))
        self.element("wp:post_type", cdata(post.kind.value))
        self.element("wp:post_password", cdata(""))
        self.element("wp:is_sticky", "1" if post.sticky else "0")
        self.terms(post)
        self.meta(SOURCE_META_KEY, post.body_source)
        for comment in comments:
            self.comment(comment)
        self.line("</item>")

    def terms(self, post: Post) -> None:
        """The post's categories, its primary one first, then its tags and its format."""
        ordered = [post.primary_category] if post.primary_category in post.categories else []
        for category in ordered + [c for c in post.categories if c not in ordered]:
            self.term("category", category.slug, category.name)
        for tag in post.tags:
            self.term("post_tag", tag.slug, tag.name)
        if post.post_format:
            name = post.post_format.capitalize()
            self.term("post_format", f"post-format-{post.post_format}", name)

    def menu_term(self) -> None:
        """The menu's term: WordPress's importer files menu items only under a known menu."""
        self.line("<wp:term>")
        self.element("wp:term_id", "1")
        self.element("wp:term_taxonomy", cdata("nav_menu"))
        self.element("wp:term_slug", cdata(MENU_SLUG))
        self.element("wp:term_name", cdata("Menu"))
        self.line("</wp:term>")

    def menu(self, items: Sequence[MenuItem]) -> None:
        """The site menu as nav_menu_item items: custom links, subitems under their parent."""
        first = (db.session.scalar(select(func.max(Post.id))) or 0) + 1
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.site))
        parents: list[int] = []  # the item id at each depth so far
        for order, item in enumerate(items):
            item_id = first + order
            del parents[item.depth :]
            parent = parents[-1] if parents else 0
            parents.append(item_id)
            url = origin + item.url if item.url.startswith("/") else item.url
            self.line("<item>")
            self.element("title", _escaped(item.label))
            self.element("wp:post_id", str(item_id))
            self.element("wp:status", cdata("publish"))
            self.element("wp:post_name", cdata(str(item_id)))
            self.element("wp:menu_order", str(order + 1))
            self.element("wp:post_type", cdata("nav_menu_item"))
            self.term("nav_menu", MENU_SLUG, "Menu")
            for key, value in (
                ("_menu_item_type", "custom"),
                ("_menu_item_menu_item_parent", str(parent)),
                ("_menu_item_object_id", str(item_id)),
                ("_menu_item_object", "custom"),
                ("_menu_item_url", url),
            ):
                self.meta(key, value)
            self.line("</item>")

    def term(self, domain: str, slug: str, name: str) -> None:
        self.line(
            f'<category domain="{domain}" nicename="{_attr(slug)}">{_escaped(name)}</category>', 2
        )

    def meta(self, key: str, value: str, kind: str = "postmeta", indent: int = 2) -> None:
        self.line(f"<wp:{kind}>", indent)
        self.element("wp:meta_key", cdata(key), indent + 1)
        self.element("wp:meta_value", cdata(value), indent + 1)
        self.line(f"</wp:{kind}>", indent)

    def comment(self, comment: Comment) -> None:
        created = _wp_date(comment.created_at)
        self.line("<wp:comment>", 2)
        for name, value in (
            ("wp:comment_id", str(comment.id)),
            ("wp:comment_author", _escaped(comment.author_name)),
            ("wp:comment_author_email", cdata(comment.author_email)),
            ("wp:comment_author_url", _attr(comment.author_url)),
            ("wp:comment_author_IP", cdata(comment.ip_address)),
            ("wp:comment_date", cdata(created)),
            ("wp:comment_date_gmt", cdata(created)),
            ("wp:comment_content", cdata(comment.body_source)),
            ("wp:comment_approved", cdata(APPROVED_VALUES[comment.status])),
            ("wp:comment_type", cdata(comment.comment_type.value)),
            ("wp:comment_parent", str(comment.parent_id or 0)),
            ("wp:comment_user_id", str(comment.user_id or 0)),
        ):
            self.element(name, value, 3)
        self.line("</wp:comment>", 2)


def _post_batches() -> Iterator[list[Post]]:
    last_id = 0
    while True:
        batch = list(
            db.session.scalars(
                select(Post)
                .where(Post.id > last_id)
                .options(
                    joinedload(Post.author),
                    joinedload(Post.primary_category),
                    selectinload(Post.categories),
                    selectinload(Post.tags),
                )
                .order_by(Post.id)
                .limit(BATCH)
            ).unique()
        )
        if not batch:
            return
        yield batch
        last_id = batch[-1].id
        db.session.expunge_all()


def _comments_of(post_ids: list[int]) -> dict[int, list[Comment]]:
    found: dict[int, list[Comment]] = defaultdict(list)
    for comment in db.session.scalars(
        select(Comment).where(Comment.post_id.in_(post_ids)).order_by(Comment.id)
    ):
        found[comment.post_id].append(comment)
    return found
