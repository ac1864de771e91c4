"""The limit on failed sign-ins per client address (SPEC 11), counted in the database.

Every worker and every host reads and writes the same rows, so the limit is the limit whatever
the number of processes (Flask-Limiter's memory storage counted per worker), and it does not
depend on Redis being up. The count and the insert of an attempt happen under a lock on the
address (SQLite's write lock; a PostgreSQL advisory lock), and an attempt counts as a failure
from then until its password proves right, so of several attempts racing, exactly as many get
their password checked as the limit allows. An attempt that succeeds is taken out again: only
refused credentials count, as before.

The address is stored as a keyed hash, never as typed; rows older than the longest window are
deleted as new ones come.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from limits import parse_many
from sqlalchemy import delete, func, insert, select

from blog.database import begin_write
from blog.extensions import db
from blog.models import SignInFailure, utcnow

DEFAULT_RULE = "5 per minute;20 per hour"


class TooManyAttempts(Exception):
    """The address used up a window; ``retry_after`` seconds until it may try again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Window:
    amount: int
    seconds: int


def parse_rule(rule: str) -> list[Window]:
    """``"5 per minute;20 per hour"`` (Flask-Limiter's notation) as windows; ValueError if
    the text is not such a rule."""
    windows = [Window(item.amount, item.get_expiry()) for item in parse_many(rule)]
    if not windows:
        raise ValueError(f"no limit in {rule!r}")
    return windows


def client_key(address: str) -> str:
    """The address as stored: an HMAC under the app's secret key (an IPv4 address hashed
    without a key is found again by trying them all)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, address.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def begin_attempt(address: str, rule: str = DEFAULT_RULE, now: datetime | None = None) -> int:
    """Record a sign-in attempt from ``address`` (committed) and return its id, which counts
    as a failure until :func:`attempt_succeeded`. Raises TooManyAttempts, recording nothing,
    when the address already has as many failures as a window of ``rule`` allows."""
    windows = parse_rule(rule)
    now = now or utcnow()
    client = client_key(address)
    longest = now - timedelta(seconds=max(window.seconds for window in windows))
    begin_write()
    _lock_client(client)
    db.session.execute(delete(SignInFailure).where(SignInFailure.at <= longest))
    earlier = db.session.scalars(
        select(SignInFailure.at)
        .where(SignInFailure.client == client, SignInFailure.at > longest)
        .order_by(SignInFailure.at)
    ).all()
    wait = _seconds_to_wait(list(earlier), windows, now)
    if wait:
        db.session.commit()  # the old rows stay deleted
        raise TooManyAttempts(wait)
    attempt_id = db.session.scalars(
        insert(SignInFailure).values(client=client, at=now).returning(SignInFailure.id)
    ).one()
    db.session.commit()
    return attempt_id


def _lock_client(client: str) -> None:
    """Serialize the count and the insert of one address's attempts until the commit, so that
    racing attempts cannot all see room for one more. SQLite's write transaction (BEGIN
    IMMEDIATE) already does; PostgreSQL takes a transaction-level advisory lock on the key."""
    if db.engine.dialect.name == "postgresql":
        key = int.from_bytes(bytes.fromhex(client[:16]), "big", signed=True)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def _seconds_to_wait(earlier: list[datetime], windows: list[Window], now: datetime) -> int:
    """0 when one more attempt fits every window, else the seconds until it does."""
    wait = 0.0
    for window in windows:
        inside = [at for at in earlier if at > now - timedelta(seconds=window.seconds)]
        if len(inside) >= window.amount:
            # Once the oldest failures that put it over have left the window, one more fits.
            frees_at = inside[len(inside) - window.amount] + timedelta(seconds=window.seconds)
            wait = max(wait, (frees_at - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def attempt_succeeded(attempt_id: int) -> None:
    """The attempt does not count (the credentials were right, or it was refused unchecked)."""
    begin_write()
    db.session.execute(delete(SignInFailure).where(SignInFailure.id == attempt_id))
    db.session.commit()
