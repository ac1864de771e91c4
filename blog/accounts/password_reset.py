"""Forgot password: a signed link by mail that sets a new password once, within an hour.

No table: the link carries a token signed with the app's secret key (itsdangerous) holding the
user's id, the time it was made and a fingerprint of the user's password hash and session token.
Setting the new password changes both, so the link stops working once used; so does any other
password change, sign-out everywhere or deactivation. The token expires after
``RESET_MAX_AGE`` seconds (itsdangerous' ``max_age``, on a clock the caller may give).

Asking never says whether an account exists: the answer is the same page either way, and the
mail (through the outbox, as every other mail) goes only to an active account's own address.
Requests are limited per client address and per name asked for (blog.accounts.sign_in's
counter, under keys of their own), so the form cannot be used to flood somebody's mailbox.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from blog import links
from blog.accounts import sign_in as limits
from blog.accounts.users import UserError, hash_password, validate_password
from blog.database import begin_write
from blog.extensions import db
from blog.mail import outbox
from blog.mail.outbox import Mail
from blog.models import User, new_session_token, utcnow
from blog.settings import load_settings

RESET_MAX_AGE = 3600  # seconds a link works
SALT = "blog.password-reset"
# Mails one name (a username or an address typed into the form) may cause, whoever asks.
PER_NAME_RULE = "3 per hour"
INVALID_LINK = (
    "This link to set a new password is not valid any more: it was used already, the password "
    "changed since, or it is older than an hour. Ask for a new one."
)

Clock = Callable[[], datetime]


class ResetLinkInvalid(Exception):
    """The link is forged, expired, used, or its account changed since."""

    def __init__(self) -> None:
        super().__init__(INVALID_LINK)
        self.message = INVALID_LINK


def available() -> bool:
    """Whether the site can mail a link at all (a mail server is configured)."""
    return bool(current_app.config.get("MAIL_SERVER"))


class _ClockedSigner(TimestampSigner):
    """itsdangerous' timestamp signer reading the time from ``clock``, so that a test (or a
    caller) can say what time it is instead of waiting an hour."""

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock().timestamp())


def _serializer(clock: Clock) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=SALT,
        signer=_ClockedSigner,
        signer_kwargs={"clock": clock},
    )


def fingerprint(user: User) -> str:
    """A digest of the user's password hash and session token: it changes with either."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    state = f"{user.password_hash}\x00{user.session_token}".encode()
    return hmac.new(key, state, hashlib.sha256).hexdigest()[:32]


def reset_token(user: User, clock: Clock = utcnow) -> str:
    """A token for the link that sets ``user``'s password, dated now (by ``clock``)."""
    return _serializer(clock).dumps({"user": user.id, "state": fingerprint(user)})


def _user_id_of(token: str, clock: Clock) -> tuple[int, str]:
    """(user id, fingerprint) a token holds; ResetLinkInvalid when forged or too old."""
    try:
        data = _serializer(clock).loads(token, max_age=RESET_MAX_AGE)
    except BadSignature:  # SignatureExpired is one too
        raise ResetLinkInvalid() from None
    if not isinstance(data, dict):
        raise ResetLinkInvalid()
    user_id, state = data.get("user"), data.get("state")
    if not isinstance(user_id, int) or not isinstance(state, str):
        raise ResetLinkInvalid()
    return user_id, state


def user_for_token(token: str, clock: Clock = utcnow) -> User:
    """The active user whose password the link may set; raises ResetLinkInvalid."""
    user_id, state = _user_id_of(token, clock)
    user = db.session.get(User, user_id)
    if user is None or not user.active or not hmac.compare_digest(fingerprint(user), state):
        raise ResetLinkInvalid()
    return user


def reset_password(token: str, new: str, confirm: str, clock: Clock = utcnow) -> User:
    """Set the new password the link's owner chose, and end every session of theirs (the
    session token rotates); commits. The link then no longer works.

    Raises ResetLinkInvalid, or UserError for a password the rules refuse (as set-password's)
    or a confirmation that differs.
    """
    user_for_token(token, clock)  # a bad link is refused before the slow hash
    validate_password(new)
    if new != confirm:
        raise UserError("The two passwords differ.", "confirm")
    password_hash = hash_password(new)
    user_id, state = _user_id_of(token, clock)
    begin_write()
    # Checked again under the write lock: of two uses of one link racing, one wins.
    user = db.session.scalars(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if user is None or not user.active or not hmac.compare_digest(fingerprint(user), state):
        db.session.rollback()
        raise ResetLinkInvalid()
    user.password_hash = password_hash
    user.session_token = new_session_token()
    db.session.commit()
    return user


def _accounts_named(name: str) -> list[User]:
    """Active accounts with this username, or with this email address (any case)."""
    name = " ".join(name.split())
    if not name or len(name) > 320:
        return []
    return list(
        db.session.scalars(
            select(User).where(
                User.active.is_(True),
                User.email != "",
                or_(User.username == name, func.lower(User.email) == name.lower()),
            )
        )
    )


def request_reset(name: str, address: str, rule: str | None = None) -> int:
    """Someone at ``address`` asks for a link for the account ``name`` (username or email):
    queue a mail to each active account so named that has an address, and commit. Returns how
    many were queued (for tests and logs only: never tell the asker).

    With ``rule``, raises limits.TooManyAttempts when ``address`` asked too often; a name asked
    for too often gets no more mail, silently.
    """
    if rule is not None:
        limits.begin_attempt(f"password-reset:{address}", rule)
        try:
            limits.begin_attempt(f"password-reset-name:{name.strip().casefold()}", PER_NAME_RULE)
        except limits.TooManyAttempts:
            return 0
    accounts = _accounts_named(name) if available() else []
    begin_write()
    queued = outbox.queue([_mail(user) for user in accounts], current_app.config["MAIL_FROM"])
    db.session.commit()
    return queued


def _mail(user: User) -> Mail:
    settings = load_settings()
    link = links.absolute(url_for("auth.reset_password", token=reset_token(user)))
    body = render_template(
        "email/password_reset.txt",
        site=settings,
        user=user,
        link=link,
        minutes=RESET_MAX_AGE // 60,
    )
    subject = " ".join(f"[{settings.site_title}] Set a new password".split())[:250]
    return Mail(user.email, subject, body)
