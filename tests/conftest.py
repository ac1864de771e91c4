"""Fixtures: an app per test on SQLite and on PostgreSQL (whenever it answers: tests/services.py).

Every test that uses ``app`` (or anything built on it) runs once per database. On PostgreSQL each
test gets a schema of its own (tests/pg_schemas.py: its tables made and empty when the test builds
the app, else an empty new one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event

from blog import create_app
from blog.database import raw_statement
from blog.extensions import db
from blog.models import Role, User
from tests import factories
from tests.pg_schemas import SchemaPool
from tests.services import PG_SKIP_REASON, PG_URL

pytest_plugins = ["tests.live"]


def database_params() -> list[Any]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON),
        ),
    ]


_TABLES_MADE = "TEST_TABLES_MADE"  # in the database's config: the tables exist already


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[SchemaPool]:
    """This process's PostgreSQL schemas (tests/pg_schemas.py), all dropped at the end."""
    pool = SchemaPool(PG_URL or "")
    yield pool
    pool.close()


@pytest.fixture(params=database_params())
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Config for a fresh, empty database: an SQLite file or a PostgreSQL schema of its own.

    On PostgreSQL, a test that builds the app (``make_app``) gets its schema with the tables
    already made and empty, from the pool; any other test an empty new schema, and so does one
    marked ``fresh_schema``."""
    if request.param == "sqlite":
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}"}
        return
    pool: SchemaPool = request.getfixturevalue("pg_schemas")
    # @pytest.mark.fresh_schema: tables never used before (a query plan depends on the
    # statistics a used table keeps).
    fresh = request.node.get_closest_marker("fresh_schema") is not None
    pooled = "make_app" in request.fixturenames and not fresh
    schema = pool.with_tables() if pooled else pool.empty()
    try:
        yield {
            "SQLALCHEMY_DATABASE_URI": PG_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
            "TEST_PG_SCHEMA": schema,
            _TABLES_MADE: pooled,
        }
    finally:
        if pooled:
            pool.give_back(schema)
        else:
            pool.drop(schema)


def create_tables() -> None:
    """``db.create_all()`` into the current app's database, unless they are there already."""
    if not current_app.config.get(_TABLES_MADE):
        db.create_all()


class IsolatedClient(FlaskClient):
    """Each request runs in an app context of its own (own ``g``, own database session), as it
    does in production, even while the test holds an app context for its factories.

    The test's session is committed before the request, so the request sees what the test made,
    and after it, so the test's next query sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            db.session.commit()
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            if has_app_context():
                db.session.commit()


def sqlite_file_app(tmp_path: Path, name: str) -> Flask:
    """An app on an SQLite file of its own with a 50 ms busy timeout, tables created: for the
    tests that lock that file from another connection."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
            "SECRET_KEY": "x",
            "SQLITE_BUSY_TIMEOUT_MS": 50,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        },
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def make_app(database: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with extra config; tables created once."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
            **database,
            **overrides,
        }
        app = create_app(config, instance_path=str(tmp_path / "instance"))
        app.test_client_class = IsolatedClient
        if not built:
            with app.app_context():
                create_tables()
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            app.extensions["blog_read_engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask], request: pytest.FixtureRequest) -> Iterator[Flask]:
    # A test that counts queries measures what a request costs once it reaches Flask: the replay
    # before Flask (blog.cache.replay) would answer its repeated cookieless GET with none, or
    # not, by the clock. So it is off for such a test, unless the test is of the replay itself
    # (@pytest.mark.replay, tests/cache/test_replay.py).
    counting = "count_queries" in request.fixturenames
    off = counting and request.node.get_closest_marker("replay") is None
    application = make_app(**({"PAGE_REPLAY_SECONDS": 0} if off else {}))
    with application.app_context():
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Sign ``user`` in on ``client`` (the session Flask-Login would have written)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


@pytest.fixture
def users(app: Flask) -> dict[Role, User]:
    """One user of each role."""
    return {role: factories.make_user(role=role, username=role.value) for role in Role}


@pytest.fixture
def client_as(app: Flask, users: dict[Role, User]) -> Callable[[Role], FlaskClient]:
    """A test client signed in as the user of a role."""

    def make(role: Role) -> FlaskClient:
        return login(app.test_client(), users[role])

    return make


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def moderator(client_as: Callable[[Role], FlaskClient]) -> FlaskClient:
    """A client signed in as a moderator."""
    return client_as(Role.MODERATOR)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """``with count_queries() as counter: ...`` then ``counter.count``: SQL statements run."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith(("PRAGMA", "BEGIN", "SAVEPOINT")):
                counter.statements.append(statement)

        def record_raw(statement: str) -> None:
            record(None, None, statement)

        event.listen(db.engine, "before_cursor_execute", record)
        raw_statement.connect(record_raw)  # the statements that bypass SQLAlchemy's events
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            raw_statement.disconnect(record_raw)

    return counting
