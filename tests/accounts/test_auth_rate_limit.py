"""Failed sign-ins are limited per address, counted in the database: every worker and host
(here: every app object on the same database) shares the count, with or without Redis."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.accounts import sign_in as sign_in_limits
from blog.extensions import db
from blog.models import SignInFailure, utcnow
from tests import factories

REDIS_URL = os.environ.get("BLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def attempt(client: FlaskClient, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        "/login",
        data={"username": "ann", "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def limited_app(make_app: Callable[..., Flask], **config: Any) -> Flask:
    app = make_app(RATELIMIT_ENABLED=True, **config)
    with app.app_context():
        if db.session.scalar(db.text("SELECT count(*) FROM users")) == 0:
            factories.make_user(username="ann")
    return app


def test_after_five_failures_a_minute_even_the_right_password_waits(
    make_app: Callable[..., Flask],
) -> None:
    app = limited_app(make_app)
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "wrong").status_code == 400
    blocked = attempt(client, factories.PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert client.get("/login").status_code == 200  # the form itself stays reachable
    assert client.get("/admin/").status_code == 302  # and nobody got in


def test_successful_sign_ins_do_not_count_and_other_addresses_are_not_blocked(
    make_app: Callable[..., Flask],
) -> None:
    app = limited_app(make_app, LOGIN_RATE_LIMIT="2 per hour")
    for _ in range(4):  # a fresh client each time: signed in users are sent on at once
        assert attempt(app.test_client(), factories.PASSWORD).status_code == 303
    client = app.test_client()
    assert attempt(client, "wrong").status_code == 400
    assert attempt(client, "wrong").status_code == 400
    assert attempt(client, factories.PASSWORD).status_code == 429
    assert attempt(app.test_client(), factories.PASSWORD, "192.0.2.7").status_code == 303


def test_two_app_instances_on_one_database_share_the_count(
    make_app: Callable[..., Flask],
) -> None:
    """As two gunicorn workers (or hosts) would: no Redis, the same database. With the old
    per-process memory store the second instance let the right password through."""
    first = limited_app(make_app, LOGIN_RATE_LIMIT="3 per hour")
    second = limited_app(make_app, LOGIN_RATE_LIMIT="3 per hour")
    assert attempt(first.test_client(), "wrong").status_code == 400
    assert attempt(second.test_client(), "wrong").status_code == 400
    assert attempt(first.test_client(), "wrong").status_code == 400
    for app in (first, second):  # the limit is reached at the same total count for both
        assert attempt(app.test_client(), factories.PASSWORD).status_code == 429
    assert attempt(second.test_client(), factories.PASSWORD, "192.0.2.8").status_code == 303


def test_racing_attempts_get_no_more_password_checks_than_the_limit(
    make_app: Callable[..., Flask],
) -> None:
    """Eight wrong passwords at once from one address, limit three: whatever the interleaving,
    exactly three are checked (the count and the insert of each are done under a lock)."""
    app = limited_app(make_app, LOGIN_RATE_LIMIT="3 per hour")
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: attempt(app.test_client(), "wrong").status_code, range(8)))
    assert sorted(codes) == [400] * 3 + [429] * 5, codes
    assert attempt(app.test_client(), factories.PASSWORD).status_code == 429


def test_refused_attempts_do_not_count_and_the_wait_ends(make_app: Callable[..., Flask]) -> None:
    """Attempts refused for the limit are not failures of their own: once the oldest failure
    leaves the window, exactly one more attempt fits."""
    app = limited_app(make_app, LOGIN_RATE_LIMIT="2 per hour")
    with app.app_context():
        start = utcnow() - timedelta(minutes=59, seconds=30)
        sign_in_limits.begin_attempt("198.51.100.4", "2 per hour", now=start)
        sign_in_limits.begin_attempt("198.51.100.4", "2 per hour", now=start + timedelta(minutes=5))
    for _ in range(3):
        blocked = attempt(app.test_client(), factories.PASSWORD, "198.51.100.4")
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 30
    with app.app_context():
        later = utcnow() + timedelta(seconds=31)
        sign_in_limits.begin_attempt("198.51.100.4", "2 per hour", now=later)  # the one that fits
        with pytest.raises(sign_in_limits.TooManyAttempts) as refused:
            sign_in_limits.begin_attempt("198.51.100.4", "2 per hour", now=later)
        assert 4 * 60 < refused.value.retry_after <= 5 * 60  # until the second failure leaves


def test_the_address_is_not_stored_as_typed(make_app: Callable[..., Flask]) -> None:
    app = limited_app(make_app)
    attempt(app.test_client(), "wrong", "203.0.113.9")
    with app.app_context():
        stored = db.session.scalars(select(SignInFailure.client)).all()
    assert len(stored) == 1 and "203.0.113" not in stored[0]


def test_a_limit_that_cannot_be_read_stops_the_start(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ValueError):
        make_app(LOGIN_RATE_LIMIT="five a minute")


@pytest.fixture
def redis_url() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except Exception as error:  # any failure means "no Redis here"
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    yield REDIS_URL
    client.close()


def test_with_redis_configured_the_count_is_still_shared_through_the_database(
    make_app: Callable[..., Flask], redis_url: str
) -> None:
    first = limited_app(make_app, REDIS_URL=redis_url, LOGIN_RATE_LIMIT="2 per hour")
    for _ in range(2):
        assert attempt(first.test_client(), "wrong").status_code == 400
    second = limited_app(make_app, REDIS_URL=redis_url, LOGIN_RATE_LIMIT="2 per hour")
    assert attempt(second.test_client(), factories.PASSWORD).status_code == 429
    assert attempt(second.test_client(), factories.PASSWORD, "192.0.2.8").status_code == 303


def test_an_unreachable_redis_does_not_stop_signing_in_or_the_limit(
    make_app: Callable[..., Flask],
) -> None:
    """SPEC 11: Redis down, everything keeps working; the limit does not live there."""
    app = limited_app(make_app, REDIS_URL="redis://127.0.0.1:9/0", LOGIN_RATE_LIMIT="1 per hour")
    assert attempt(app.test_client(), factories.PASSWORD).status_code == 303
    assert attempt(app.test_client(), "wrong").status_code == 400
    assert attempt(app.test_client(), factories.PASSWORD).status_code == 429
    assert app.test_client().get("/login").status_code == 200
