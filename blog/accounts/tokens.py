"""Bearer tokens of the JSON API: created for a user, stored hashed, revocable.

A token is ``blog_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a fast hash is enough (nobody can guess their way back), and a
lookup by hash needs no per-token comparison. A token acts as its user with the user's role at
the time of each request; deactivating the user, deleting it or revoking the token ends it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import contains_eager

from blog.database import begin_write, rows_changed
from blog.extensions import db
from blog.models import ApiToken, User

PREFIX = "blog_"
HINT_LENGTH = len(PREFIX) + 6
MAX_NAME = 100
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; not even hashed


class TokenError(ValueError):
    """A token could not be created or revoked; the message is for people."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _find_user(username: str) -> User:
    user = db.session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise TokenError(f"No user is called {username!r}.")
    return user


def create_token(username: str, name: str = "") -> IssuedToken:
    """A new token for the user ``username``; commits. Raises TokenError."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise TokenError(f"A token's name has at most {MAX_NAME} characters.")
    begin_write()
    try:
        user = _find_user(username)
        if not user.active:
            raise TokenError(f"{username} is deactivated; a token of theirs would not work.")
        secret = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=user.id, name=name, token_hash=hash_token(secret), hint=secret[:HINT_LENGTH]
        )
        db.session.add(token)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return IssuedToken(token, secret)


def user_for_token(secret: str) -> User | None:
    """The active user a presented token belongs to, or None (one query)."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalars(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(secret), User.active.is_(True))
    ).one_or_none()


def list_tokens(username: str | None = None) -> list[ApiToken]:
    """Every token (or one user's), oldest first, with its user loaded."""
    stmt = (
        select(ApiToken)
        .join(ApiToken.user)
        .options(contains_eager(ApiToken.user))
        .order_by(ApiToken.id)
    )
    if username is not None:
        stmt = stmt.where(User.username == username)
    return list(db.session.scalars(stmt))


def revoke_token(username: str, token_id: int) -> None:
    """Delete the token ``token_id`` of ``username``; it stops working at once. Commits."""
    begin_write()
    try:
        user = _find_user(username)
        deleted = rows_changed(
            delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
        )
        if not deleted:
            raise TokenError(f"{username} has no token {token_id}.")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
