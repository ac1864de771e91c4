"""Failure is a clear page, never a 500: a locked database, huge bodies, wrong methods."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from blog.extensions import db
from tests import factories
from tests.conftest import sqlite_file_app


@pytest.fixture
def locked_app(tmp_path: Path) -> Iterator[tuple[Flask, str, sqlite3.Connection]]:
    """An app on SQLite with one post, whose database another process then locks."""
    path = tmp_path / "locked.sqlite3"
    app = sqlite_file_app(tmp_path, path.name)
    with app.app_context():
        slug = factories.make_post(title="Locked out").slug
        db.session.remove()
        db.engine.dispose()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA journal_mode=DELETE")  # out of WAL, so that readers can be blocked
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield app, slug, blocker
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        with app.app_context():
            db.engine.dispose()


def test_locked_database_gives_a_503_page(locked_app: tuple[Flask, str, object]) -> None:
    app, _slug, _blocker = locked_app
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_typed_comment_is_shown_back_on_a_database_failure(
    locked_app: tuple[Flask, str, object],
) -> None:
    app, slug, _blocker = locked_app
    response = app.test_client().post(
        f"/blog/{slug}/comments",
        data={"name": "Ann", "email": "ann@example.com", "body": "My <precious> words"},
    )
    assert response.status_code == 503
    assert "My &lt;precious&gt; words" in response.get_data(as_text=True)


def test_body_over_the_limit_is_a_friendly_413(app: Flask) -> None:
    post = factories.make_post()
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = app.test_client().post(
        f"/blog/{post.slug}/comments", data={"body": "x" * 5000, "name": "A", "email": "a@b.co"}
    )
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(
    make_app: Callable[..., Flask],
) -> None:
    from flask import request

    app = make_app(PROXY_COUNT=1)
    seen: list[str | None] = []

    @app.get("/_whoami")
    def whoami() -> str:
        seen.append(request.remote_addr)
        return "ok"

    app.test_client().get(
        "/_whoami",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert seen == ["203.0.113.9"]
    plain: list[str | None] = []
    direct = make_app()

    @direct.get("/_whoami")
    def whoami_direct() -> str:
        plain.append(request.remote_addr)
        return "ok"

    direct.test_client().get(
        "/_whoami",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert plain == ["10.0.0.1"]


def test_a_host_header_that_is_no_host_name_is_a_400_with_the_typed_comment(app: Flask) -> None:
    post = factories.make_post()
    client = app.test_client()
    page = client.get(f"/blog/{post.slug}/", headers={"Host": "a..b"})
    assert page.status_code == 400
    posted = client.post(
        f"/blog/{post.slug}/comments",
        data={"name": "Ann", "email": "ann@example.com", "body": "Kept <safe> & sound"},
        headers={"Host": "a..b"},
    )
    assert posted.status_code == 400
    assert "Kept &lt;safe&gt; &amp; sound" in posted.get_data(as_text=True)
    assert "<safe>" not in posted.get_data(as_text=True)
