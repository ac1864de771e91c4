"""Public author slugs: the address of an author archive, ``/author/<slug>/`` (SPEC 4, 11).

Login names are not public. A slug comes from the display name (python-slugify); when that
gives nothing, or gives the username itself, it is a generated ``author-<hex>`` instead. An
admin may change it (the user form); it never equals the user's own username.
"""

from __future__ import annotations

import re

from slugify import slugify
from sqlalchemy import select

from blog.extensions import db
from blog.models import User, generated_author_slug

MAX_SLUG = 190
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SlugError(ValueError):
    """A slug typed by an admin cannot be used; the message is for people."""


def _reveals(slug: str, username: str) -> bool:
    return slug == username.lower() or slug == slugify(username)


def public_slug(display_name: str, username: str, exclude_id: int | None = None) -> str:
    """A free slug for an account: from ``display_name``, ``-2``, ``-3``... appended while
    another user has it; generated when the name gives none or would show ``username``."""
    base = slugify(display_name, max_length=MAX_SLUG - 6, word_boundary=True)
    if not base or _reveals(base, username):
        return _free_generated(exclude_id)
    taken_stmt = select(User.slug).where(User.slug.like(f"{base}%"))
    if exclude_id is not None:
        taken_stmt = taken_stmt.where(User.id != exclude_id)
    taken = set(db.session.scalars(taken_stmt))
    slug, n = base, 2
    while slug in taken or _reveals(slug, username):
        slug = f"{base}-{n}"
        n += 1
    return slug


def _free_generated(exclude_id: int | None) -> str:
    while True:  # 2**32 values: a clash is rare, two in a row rarer still
        slug = generated_author_slug()
        if not _taken(slug, exclude_id):
            return slug


def _taken(slug: str, exclude_id: int | None) -> bool:
    stmt = select(User.id).where(User.slug == slug)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def validate_slug(typed: str, user: User) -> str:
    """The slug an admin typed for ``user``, checked; raises SlugError."""
    slug = typed.strip().lower()
    if not slug or len(slug) > MAX_SLUG or not SLUG_RE.match(slug):
        raise SlugError(f"Use lower-case letters, digits and single hyphens (at most {MAX_SLUG}).")
    if _reveals(slug, user.username):
        raise SlugError("The address must not show the username: login names are not public.")
    if _taken(slug, user.id):
        raise SlugError("Another user has that address.")
    return slug
