"""Accounts: creating users, checking passwords, ending sessions."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from blog.extensions import db
from blog.models import Role, User, new_session_token

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
MIN_PASSWORD_LENGTH = 8

# Checked against when the username is unknown, so that a miss costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-just-for-timing")


class UserError(ValueError):
    """A user could not be created or changed; the message is for people."""


def hash_password(password: str) -> str:
    """Slow, salted hash (werkzeug's scrypt)."""
    return generate_password_hash(password)


def create_user(
    username: str,
    password: str,
    role: Role | str = Role.AUTHOR,
    display_name: str | None = None,
    email: str = "",
) -> User:
    """Create and commit a user. Raises UserError for a bad or taken username or short password."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise UserError("Usernames use letters, digits, '.', '_' or '-' (at most 60).")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"Role must be one of: {', '.join(r.value for r in Role)}.") from None
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"The username {username!r} is taken.")
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        email=email.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; same cost whether or not the user exists."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def load_session_user(session_id: str) -> User | None:
    """The user a login session belongs to, if that session is still valid (Flask-Login loader)."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every login session of this user (sign-out, password change, deactivation)."""
    user.session_token = new_session_token()
    db.session.commit()
