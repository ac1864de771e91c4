"""Writing posts: slugs, categories, tags, creating and saving posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slugify import slugify
from sqlalchemy import select

from blog.extensions import db
from blog.models import Category, Post, PostStatus, Tag, User, utcnow
from blog.sanitize import html_to_text, render_markdown

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
    body_html = render_markdown(body)
    post = Post(
        title=title.strip(),
        slug=unique_slug(Post, slug or title),
        body_source=body,
        body_html=body_html,
        excerpt=excerpt.strip() or html_to_text(body_html, limit=300),
        author=author,
        categories=chosen,
        primary_category=primary,
        tags=get_or_create_tags(tags),
        status=status,
        published_at=published_at or (utcnow() if status == PostStatus.PUBLISHED else None),
        comments_open=comments_open,
    )
    db.session.add(post)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return post
