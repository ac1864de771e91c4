"""The admin (SPEC section 7): dashboard, posts, media, revisions, categories, users, settings,
own profile.

The blueprint and what the views share are in ``blueprint``; each view module registers its
routes on it when imported, here.
"""

from __future__ import annotations

from blog.web.admin import (
    categories,
    dashboard,
    media,
    pages,
    posts,
    revisions,
    settings,
    users,
)
from blog.web.admin.blueprint import bp

__all__ = [
    "bp",
    "categories",
    "dashboard",
    "media",
    "pages",
    "posts",
    "revisions",
    "settings",
    "users",
]
