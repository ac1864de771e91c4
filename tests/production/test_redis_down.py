"""Redis down or slow: reading, posting and signing in keep working, never a 500.

Each test runs a Redis of its own (or a socket that never answers): the shared one is never stopped.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.commenting import post_comment, reader
from tests.redis_server import OwnRedis, own_redis_server

redis = pytest.importorskip("redis")

LIMIT_WARNING = "Rate limit storage unreachable"
CACHE_WARNING = "Redis page cache unreachable"


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    with own_redis_server() as server:
        yield server


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A port that accepts connections and never answers: a Redis too slow to be any use."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


def redis_app(make_app: Callable[..., Flask], url: str) -> tuple[Flask, str]:
    """The app on this Redis, a user who signs in, and the slug of a post."""
    app = make_app(REDIS_URL=url, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per hour")
    with app.app_context():
        factories.make_user(username="ann")
        return app, factories.make_post(title="Still readable").slug


def sign_in(client: FlaskClient, password: str) -> int:
    response = client.post("/login", data={"username": "ann", "password": password})
    return response.status_code


def warnings_with(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(1 for record in caplog.records if text in record.getMessage())


def read_post_sign_in(app: Flask, post: str) -> None:
    """What a site must still do: pages, a comment, signing in, and the limits still hold."""
    assert app.test_client().get("/").status_code == 200
    for _ in range(3):
        page = reader(app).get(f"/blog/{post}/")
        assert page.status_code == 200
        assert "Still readable" in page.text
    assert post_comment(reader(app), post).status_code == 303
    assert sign_in(app.test_client(), factories.PASSWORD) == 303
    # The failed sign-ins are still counted (in this process's memory): the third attempt waits.
    assert sign_in(app.test_client(), "wrong") == 400
    assert sign_in(app.test_client(), "wrong") == 400
    assert sign_in(app.test_client(), factories.PASSWORD) == 429


def test_with_redis_stopped_the_site_reads_posts_and_signs_in_with_one_warning(
    make_app: Callable[..., Flask], own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app, post = redis_app(make_app, own_redis.url)
    assert reader(app).get(f"/blog/{post}/").status_code == 200
    assert post_comment(reader(app), post).status_code == 303
    used = redis.Redis.from_url(own_redis.url)
    assert used.keys("blog:page:*"), "the page was not kept in Redis while it was up"
    used.close()

    own_redis.stop()
    caplog.set_level(logging.WARNING)
    read_post_sign_in(app, post)

    assert warnings_with(caplog, LIMIT_WARNING) == 1
    assert warnings_with(caplog, CACHE_WARNING) == 1


def test_a_redis_that_never_answers_does_not_stall_or_break_the_site(
    make_app: Callable[..., Flask], silent_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, post = redis_app(make_app, silent_redis)
    caplog.set_level(logging.WARNING)
    read_post_sign_in(app, post)

    # Every attempt to use this Redis costs its timeout (0.25 s, twice per cached page): were it
    # not skipped after the first failure, 20 pages would take at least 10 s.
    started = time.monotonic()
    for _ in range(20):
        assert reader(app).get(f"/blog/{post}/").status_code == 200
    assert time.monotonic() - started < 5
    assert warnings_with(caplog, LIMIT_WARNING) == 1
    assert warnings_with(caplog, CACHE_WARNING) == 1
