"""Operations: /healthz, the request id and the one log line per request."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from bench.load import free_port
from blog import create_app
from tests import factories
from tests.conftest import PG_URL

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    # alembic's fileConfig (migrations/env.py) disables existing loggers when the migration
    # tests ran earlier in this process.
    logger = logging.getLogger("blog.request")
    was = logger.disabled
    logger.disabled = False
    with caplog.at_level(logging.INFO, logger="blog.request"):
        yield caplog
    logger.disabled = was


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "blog.request"]


def test_healthz_reports_database_and_redis_and_is_never_cached(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(REDIS_URL=REDIS_URL, SECRET_KEY="a-secret-value")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "a-secret-value" not in response.text and "redis://" not in response.text


def test_healthz_without_redis_says_not_configured(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().get("/healthz")
    assert response.get_json() == {"database": "ok", "redis": "not configured"}


def test_healthz_with_redis_down_is_still_up(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "redis": "error"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_healthz_with_the_database_gone_answers_503(tmp_path: Path, kind: str) -> None:
    if kind == "postgresql" and not PG_URL:
        pytest.skip("BLOG_TEST_DATABASE_URL is not set")
    gone = (
        "postgresql+psycopg://postgres@127.0.0.1:1/none"
        if kind == "postgresql"
        else f"sqlite:///{tmp_path}/no/such/dir/x.sqlite3"
    )
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": gone, "TESTING": True},
        instance_path=str(tmp_path),
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "error", "redis": "not configured"}
    assert response.headers["Cache-Control"] == "no-store"


def test_every_request_gets_an_id_and_one_log_line(
    make_app: Callable[..., Flask], request_log: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    first = client.get("/healthz?verbose=1")
    given = client.get("/no-such-page", headers={"X-Request-ID": "nginx-abc.123"})
    forged = client.get("/", headers={"X-Request-ID": "bad id; <script>"})
    assert len(first.headers["X-Request-ID"]) == 32
    assert given.headers["X-Request-ID"] == "nginx-abc.123"
    assert forged.headers["X-Request-ID"] not in ("", "bad id; <script>")
    records = lines(request_log)
    assert len(records) == 3
    rid = first.headers["X-Request-ID"]
    assert records[0].getMessage().startswith("GET /healthz 200 ")
    assert records[0].getMessage().endswith(f"ms id={rid} addr=192.0.2.7")
    assert records[1].getMessage().startswith("GET /no-such-page 404 ")
    assert "id=nginx-abc.123" in records[1].getMessage()
    assert forged.headers["X-Request-ID"] in records[2].getMessage()


def test_json_log_lines(
    make_app: Callable[..., Flask],
    request_log: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BLOG_LOG_FORMAT", "json")
    app = make_app()
    response = app.test_client().head("/healthz", headers={"X-Request-ID": "r-1"})
    [record] = lines(request_log)
    fields = json.loads(record.getMessage())
    assert fields.pop("duration_ms") >= 0
    assert fields == {
        "method": "HEAD",
        "path": "/healthz",
        "status": 200,
        "request_id": "r-1",
        "remote_addr": "127.0.0.1",
    }
    assert response.headers["X-Request-ID"] == "r-1"


def test_a_503_is_logged_with_its_request_id_and_the_cause(
    make_app: Callable[..., Flask],
    request_log: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app()
    with app.app_context():
        slug = factories.make_post().slug

    def locked(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr("blog.web.public.render_post", locked)
    response = app.test_client().get(f"/blog/{slug}/", headers={"X-Request-ID": "r-503"})
    assert response.status_code == 503
    records = lines(request_log)
    cause = [r for r in records if r.exc_info]
    assert len(cause) == 1 and "id=r-503" in cause[0].getMessage()
    assert "database is locked" in request_log.text
    [line] = [r for r in records if not r.exc_info]
    assert line.levelno == logging.WARNING and " 503 " in line.getMessage()


def test_a_500_is_logged_with_its_request_id(
    make_app: Callable[..., Flask],
    request_log: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        slug = factories.make_post().slug

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("blog.web.public.render_post", broken)
    response = app.test_client().get(f"/blog/{slug}/", headers={"X-Request-ID": "r-500"})
    assert response.status_code == 500
    records = lines(request_log)
    [cause] = [r for r in records if r.exc_info]
    assert "id=r-500" in cause.getMessage() and "a bug" in request_log.text
    assert any(r.levelno == logging.ERROR and " 500 " in r.getMessage() for r in records)


def test_an_unknown_log_format_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BLOG_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="BLOG_LOG_FORMAT must be one of plain, json"):
        create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
