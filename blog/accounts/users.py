"""Accounts: creating users, checking passwords, roles, deactivation, ending sessions.

A login session id is ``"<user id>:<session token>"`` (see ``User.get_id``). Rotating the token
(sign-out, a password change, deactivation) makes every copy of every session cookie of that user
worthless, on every worker, because the loader compares it with the stored token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from blog.accounts.author_slugs import SlugError, public_slug, validate_slug
from blog.database import begin_write
from blog.extensions import db
from blog.models import Post, Role, User, new_session_token
from blog.permissions import Action, ensure

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # scrypt's cost grows with the input; nobody types more
MAX_DISPLAY_NAME = 250
MAX_EMAIL = 100


class UserError(ValueError):
    """A user could not be created or changed; the message is for people, ``field`` names the
    form field it belongs to (None for the whole form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def hash_password(password: str) -> str:
    """Slow, salted hash (werkzeug's scrypt)."""
    return generate_password_hash(password)


@cache
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so that a miss costs as much as a wrong
    # password. Made on first use with the same method and parameters as real hashes.
    return hash_password("not-a-real-password-only-for-equal-timing")


def check_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; an unusable stored hash costs a full check all the same."""
    if password_hash.count("$") < 2:  # "!" or empty: an account that cannot sign in
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def _clean(text: str) -> str:
    """Form text without NUL and other control characters (PostgreSQL refuses NUL in text)."""
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32).strip()


def validate_username(username: str) -> str:
    username = _clean(username)
    if not USERNAME_RE.match(username):
        raise UserError("Usernames use letters, digits, '.', '_' or '-' (at most 60).", "username")
    return username


def validate_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"Passwords may have at most {MAX_PASSWORD_LENGTH} characters.", field)
    if "\x00" in password:
        raise UserError("Passwords cannot contain a NUL character.", field)
    return password


def validate_email_address(email: str) -> str:
    """The normalized address, or "" for none. Raises UserError for an invalid one."""
    email = _clean(email)
    if not email:
        return ""
    if len(email) > MAX_EMAIL:
        raise UserError(f"Email addresses have at most {MAX_EMAIL} characters.", "email")
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        raise UserError("Please enter a valid email address.", "email") from None


def validate_display_name(display_name: str, fallback: str) -> str:
    name = _clean(display_name) or fallback
    if len(name) > MAX_DISPLAY_NAME:
        raise UserError(
            f"Display names have at most {MAX_DISPLAY_NAME} characters.", "display_name"
        )
    return name


def parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise UserError(f"Role must be one of: {choices}.", "role") from None


def create_user(
    username: str,
    password: str,
    role: Role | str = Role.AUTHOR,
    display_name: str | None = None,
    email: str = "",
) -> User:
    """Create and commit a user. Raises UserError for a bad or taken username, a short password,
    an unknown role or an invalid email address."""
    username = validate_username(username)
    password = validate_password(password)
    role = parse_role(role)
    email = validate_email_address(email)
    name = validate_display_name(display_name or "", username)
    begin_write()
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        db.session.rollback()
        raise UserError(f"The username {username!r} is taken.", "username")
    user = User(
        username=username,
        display_name=name,
        slug=public_slug(display_name or "", username),
        email=email,
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None.

    Exactly one password check runs whatever the outcome (unknown user, wrong password, inactive
    account), so a refusal takes the same time and says nothing about which part was wrong.
    """
    user = db.session.scalar(select(User).where(User.username == _clean(username)))
    if user is None:
        check_password(_dummy_hash(), password)
        return None
    if not check_password(user.password_hash, password) or not user.active:
        return None
    return user


def load_session_user(session_id: str) -> User | None:
    """The user a login session belongs to, if that session is still valid (Flask-Login loader)."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 18 or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every login session of this user (sign-out, password change, deactivation)."""
    user_id = user.id
    begin_write()
    found = db.session.get(User, user_id)
    if found is not None:
        found.session_token = new_session_token()
    db.session.commit()


def change_own_password(user: User, current: str, new: str) -> User:
    """A user changes their password: the current one must match. Ends every session (the caller
    signs the current browser in again with the new session id)."""
    if not check_password(user.password_hash, current):
        raise UserError("Your current password is not correct.", "current_password")
    return set_password(user, new, field="new_password")


def set_password(user: User, new: str, field: str = "password") -> User:
    """Set a new password (an admin's reset, or the user's own change) and end every session."""
    validate_password(new, field)
    password_hash = hash_password(new)
    user_id = user.id
    found = _locked(user_id)
    found.password_hash = password_hash
    found.session_token = new_session_token()
    db.session.commit()
    return found


def update_profile(user: User, display_name: str, email: str) -> User:
    """Change the name shown on posts and the email address."""
    name = validate_display_name(display_name, user.username)
    address = validate_email_address(email)
    user_id = user.id
    found = _locked(user_id)
    found.display_name = name
    found.email = address
    db.session.commit()
    return found


def _locked(user_id: int) -> User:
    """The user, read in a write transaction; UserError when they were deleted meanwhile."""
    begin_write()
    found = db.session.get(User, user_id)
    if found is None:
        db.session.rollback()
        raise UserError("That user no longer exists.")
    return found


def _other_active_admins(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.role == Role.ADMIN, User.active.is_(True), User.id != user_id
            )
        )
        or 0
    )


def _refuse_demotion(found: User, new_role: Role, actor_id: int) -> None:
    if found.role != Role.ADMIN or new_role == Role.ADMIN:
        return
    if found.id == actor_id:
        db.session.rollback()
        raise UserError("You cannot take away your own admin role.", "role")
    if not _other_active_admins(found.id):
        db.session.rollback()
        raise UserError("The site needs at least one active admin.", "role")


def save_account(
    actor: User,
    user: User,
    display_name: str,
    email: str,
    role: Role | str,
    slug: str | None = None,
) -> User:
    """An admin changes a user's name, email, role and (when given) public slug, all or
    nothing. The last active admin keeps their role, and nobody demotes themselves (they would
    lose this very page)."""
    ensure(actor, Action.MANAGE_USERS)
    name = validate_display_name(display_name, user.username)
    address = validate_email_address(email)
    new_role = parse_role(role)
    user_id, actor_id = user.id, actor.id
    found = _locked(user_id)
    _refuse_demotion(found, new_role, actor_id)
    if slug is not None:
        try:
            found.slug = validate_slug(slug, found)
        except SlugError as error:
            db.session.rollback()
            raise UserError(str(error), "slug") from None
    found.display_name, found.email, found.role = name, address, new_role
    db.session.commit()
    return found


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivate (which ends every session at once) or reactivate an account. Nobody
    deactivates themselves, and the last active admin stays active."""
    ensure(actor, Action.MANAGE_USERS)
    user_id, actor_id = user.id, actor.id
    found = _locked(user_id)
    if not active:
        if found.id == actor_id:
            db.session.rollback()
            raise UserError("You cannot deactivate your own account.")
        if found.role == Role.ADMIN and not _other_active_admins(found.id):
            db.session.rollback()
            raise UserError("The site needs at least one active admin.")
        found.session_token = new_session_token()
    found.active = active
    db.session.commit()
    return found


@dataclass(frozen=True)
class UserRow:
    user: User
    posts: int


def list_users() -> list[UserRow]:
    """Every account with its number of posts, in one query."""
    counts = (
        select(Post.author_id, func.count(Post.id).label("n")).group_by(Post.author_id).subquery()
    )
    rows = db.session.execute(
        select(User, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.author_id == User.id)
        .order_by(User.username)
    ).all()
    return [UserRow(user, int(n)) for user, n in rows]


def find_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def find_user_by_name(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))
