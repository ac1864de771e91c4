"""The first admin of a new site: made once, with a random one-time password, when no active
admin exists (``flask blog demo``, which ``make run`` runs), so that a newcomer can sign in at
once. Its password is returned once, to be printed once; it is stored only as its hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from blog.accounts.users import create_user
from blog.extensions import db
from blog.models import Role, User

FIRST_ADMIN = "admin"
PASSWORD_BYTES = 12  # 16 URL-safe characters: easy to copy, 96 random bits


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str | None  # only when the admin was made just now; None: it existed already


def first_admin() -> FirstAdmin:
    """The oldest active admin, or a new admin (named "admin", or "admin2"... when that name is
    taken by another role) with a random password when there is none."""
    existing = db.session.scalars(
        select(User.username)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    ).first()
    if existing is not None:
        return FirstAdmin(existing, None)
    taken = set(db.session.scalars(select(User.username).where(User.username.like("admin%"))))
    username = next(
        name
        for n in range(1, len(taken) + 2)
        if (name := FIRST_ADMIN if n == 1 else f"{FIRST_ADMIN}{n}") not in taken
    )
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    create_user(username, password, Role.ADMIN, display_name="Site Admin")
    return FirstAdmin(username, password)


def users_without_password(usernames: list[str]) -> list[str]:
    """Those of ``usernames`` whose account cannot sign in yet (no password set: the demo's).
    A usable hash has the form ``method$salt$hash`` (blog.accounts.users.check_password)."""
    found = db.session.scalars(
        select(User.username).where(
            User.username.in_(usernames), User.password_hash.not_like("%$%$%")
        )
    )
    return sorted(found)
