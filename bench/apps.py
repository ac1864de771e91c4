"""The blog as gunicorn serves it in the benchmark, and what the benchmark needs from it.

gunicorn loads it in each worker as ``bench.apps:blog_app()``; the benchmark passes where the
database is through the environment. The bare Flask route is in :mod:`bench.bare`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_login.utils import _create_identifier
from sqlalchemy import select

from blog import create_app
from blog.extensions import db
from blog.models import User

# Environment read by blog_app() in the gunicorn workers (BLOG_DATABASE_URL is the blog's own).
ENV_SCHEMA = "BENCH_PG_SCHEMA"
ENV_SECRET_KEY = "BENCH_SECRET_KEY"
ENV_INSTANCE = "BENCH_INSTANCE_PATH"
ENV_PAGE_CACHE = "BENCH_PAGE_CACHE"  # "0": the blog's in-process page store off
ENV_REPLAY = "BENCH_REPLAY"  # "0": the replay before Flask off (blog.cache.replay)


@dataclass(frozen=True)
class BenchDatabase:
    """Where one seeded data set lives: an SQLite file, or a PostgreSQL schema of its own."""

    kind: str  # "sqlite" or "postgresql"
    url: str
    schema: str | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    def environment(self) -> dict[str, str]:
        """What blog_app() needs to find this database."""
        return {"BLOG_DATABASE_URL": self.url, ENV_SCHEMA: self.schema or ""}


def bench_config(database: BenchDatabase, secret_key: str) -> dict[str, Any]:
    """The blog's configuration for the benchmark.

    CSRF and rate limits are off so that wrk can post replies from one address without a
    browser session; the flood interval is a setting in the seeded database (0 there).
    """
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": secret_key,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }
    if database.schema:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={database.schema}"}
        }
    return config


def make_blog_app(
    database: BenchDatabase,
    secret_key: str,
    instance_path: Path,
    page_cache: bool = True,
    replay: bool = True,
) -> Flask:
    config = {**bench_config(database, secret_key), "PAGE_CACHE": page_cache}
    if not replay:
        config["PAGE_REPLAY_SECONDS"] = 0
    return create_app(config, instance_path=str(instance_path))


def blog_app() -> Flask:
    """The gunicorn entry point for the blog (configured by the environment)."""
    url = os.environ["BLOG_DATABASE_URL"]
    kind = "sqlite" if url.startswith("sqlite:") else "postgresql"
    database = BenchDatabase(kind, url, os.environ.get(ENV_SCHEMA) or None)
    return make_blog_app(
        database,
        os.environ[ENV_SECRET_KEY],
        Path(os.environ[ENV_INSTANCE]),
        page_cache=os.environ.get(ENV_PAGE_CACHE) != "0",
        replay=os.environ.get(ENV_REPLAY) != "0",
    )


def signed_in_cookie(app: Flask, username: str, user_agent: str) -> str:
    """A ``Cookie`` header value signing ``username`` in, as Flask-Login writes it at sign-in.

    The session also holds a CSRF token already, as a signed-in browser's does, so the pages do
    not write a new session cookie on every request. Valid for requests from 127.0.0.1 with this
    User-Agent (Flask-Login's session protection compares both).
    """
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        session_id = user.get_id()
        db.session.remove()
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    with app.test_request_context("/", environ_base=environ, headers={"User-Agent": user_agent}):
        identifier = _create_identifier()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
        session["_id"] = identifier
        session["csrf_token"] = secrets.token_hex(20)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        raise RuntimeError("the test client wrote no session cookie")
    return f"{cookie.key}={cookie.value}"
