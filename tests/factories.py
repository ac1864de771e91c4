"""Build users, categories, posts and comments with sensible defaults; counts kept exact."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from PIL import Image

from blog.accounts.author_slugs import public_slug
from blog.accounts.users import hash_password
from blog.comments.spam.learning import IMPORTED_REASON
from blog.comments.transitions import create_comments
from blog.extensions import db
from blog.models import (
    Category,
    Comment,
    CommentStatus,
    Media,
    Post,
    PostStatus,
    Role,
    User,
    utcnow,
)
from blog.posts import authoring, media
from blog.sanitize import sanitize_comment

_sequence = itertools.count(1)
PASSWORD = "correct horse battery staple"
# Computed once: scrypt is deliberately slow and tests make many users.
_PASSWORD_HASH = hash_password(PASSWORD)


def make_user(
    role: Role = Role.AUTHOR,
    username: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    active: bool = True,
) -> User:
    n = next(_sequence)
    username = username or f"user{n}"
    display_name = display_name or username.title()
    user = User(
        username=username,
        display_name=display_name,
        slug=public_slug(display_name, username),
        email=email if email is not None else f"{username}@example.com",
        password_hash=_PASSWORD_HASH,
        role=role,
        active=active,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_category(name: str | None = None, parent: Category | None = None) -> Category:
    category = authoring.get_or_create_category(name or f"Category {next(_sequence)}", parent)
    db.session.commit()
    return category


def make_post(
    author: User | None = None,
    title: str | None = None,
    body: str = "Some *text* for this post.",
    status: PostStatus = PostStatus.PUBLISHED,
    published_at: datetime | None = None,
    categories: Sequence[Category] = (),
    tags: Sequence[str] = (),
    comments_open: bool = True,
    commit: bool = True,
) -> Post:
    author = author or make_user()
    return authoring.create_post(
        author,
        title or f"Post number {next(_sequence)}",
        body,
        categories=categories,
        tags=tags,
        status=status,
        published_at=published_at,
        comments_open=comments_open,
        commit=commit,
    )


def make_comment(
    post: Post,
    body: str = "A thoughtful reply.",
    status: CommentStatus = CommentStatus.APPROVED,
    parent: Comment | None = None,
    author_name: str = "Reader",
    author_email: str = "reader@example.com",
    created_at: datetime | None = None,
    commit: bool = True,
) -> Comment:
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent else None,
        author_name=author_name,
        author_email=author_email,
        body_source=body,
        body_html=sanitize_comment(body),
        ip_address="127.0.0.1",
        created_at=created_at or utcnow(),
    )
    # As an import: a status decided elsewhere, which the spam filter may learn from.
    create_comments([(comment, status)], IMPORTED_REASON, at=comment.created_at)
    if commit:
        db.session.commit()
    return comment


def make_comments(post: Post, n: int, status: CommentStatus = CommentStatus.APPROVED) -> None:
    """Many comments at once, threaded two deep, in one transaction."""
    start = utcnow() - timedelta(days=1)
    previous: Comment | None = None
    for i in range(n):
        parent = previous if i % 3 == 1 else None
        previous = make_comment(
            post,
            body=f"Comment {i}",
            status=status,
            parent=parent,
            created_at=start + timedelta(seconds=i),
            commit=False,
        )
    db.session.commit()


def image_bytes(
    width: int = 64,
    height: int = 48,
    format_name: str = "PNG",
    color: tuple[int, ...] = (200, 30, 30),
) -> bytes:
    """A small image of one colour in a format Pillow writes."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format_name)
    return out.getvalue()


def make_media(
    uploaded_by: User | None = None, width: int = 64, height: int = 48, alt_text: str = "A red box"
) -> Media:
    """An uploaded PNG, stored in the app's media folder."""
    data = image_bytes(width, height)
    return media.store_image(data, "box.png", alt_text, uploaded_by, media.limits())
