"""Failed sign-ins are rate limited per address, in memory or in Redis shared by every worker."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.extensions import db
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


def test_a_fresh_memory_store_does_not_share_counts_between_instances(
    make_app: Callable[..., Flask],
) -> None:
    """The control for the Redis test below: with memory storage, each instance counts alone."""
    first = limited_app(make_app, LOGIN_RATE_LIMIT="2 per hour")
    for _ in range(2):
        assert attempt(first.test_client(), "wrong").status_code == 400
    second = limited_app(make_app, LOGIN_RATE_LIMIT="2 per hour")
    assert attempt(second.test_client(), factories.PASSWORD).status_code == 303


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


def test_the_limit_is_shared_by_two_app_instances_through_redis(
    make_app: Callable[..., Flask], redis_url: str
) -> None:
    # A random address keeps this run's counters apart from any other run on the same Redis.
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(255) + 1}"
    first = limited_app(make_app, REDIS_URL=redis_url, LOGIN_RATE_LIMIT="2 per hour")
    assert first.config["RATELIMIT_STORAGE_URI"] == redis_url
    for _ in range(2):
        assert attempt(first.test_client(), "wrong", address).status_code == 400
    # A second instance (its own storage connection, as another gunicorn worker would have).
    second = limited_app(make_app, REDIS_URL=redis_url, LOGIN_RATE_LIMIT="2 per hour")
    assert attempt(second.test_client(), factories.PASSWORD, address).status_code == 429
    assert attempt(second.test_client(), factories.PASSWORD, "192.0.2.8").status_code == 303


def test_an_unreachable_limit_store_still_lets_readers_sign_in_counting_in_memory(
    make_app: Callable[..., Flask],
) -> None:
    app = limited_app(make_app, REDIS_URL="redis://127.0.0.1:9/0", LOGIN_RATE_LIMIT="1 per hour")
    assert attempt(app.test_client(), factories.PASSWORD).status_code == 303  # nothing listens
    assert attempt(app.test_client(), "wrong").status_code == 400
    assert attempt(app.test_client(), factories.PASSWORD).status_code == 429
    assert app.test_client().get("/login").status_code == 200
