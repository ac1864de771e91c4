"""Engine set-up and transactions.

SQLite is tuned for a web server: WAL journal (readers never block the writer), foreign keys
enforced, a busy timeout, and write transactions that take the write lock at ``BEGIN`` so that
concurrent writers queue on the busy timeout instead of failing mid-transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from blog.extensions import db

_BEGIN_OPTION = "blog_sqlite_begin"


def configure_engine_events(engine: Engine) -> None:
    """On SQLite, set the pragmas every connection needs; other databases need nothing."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _sqlite_connect):
        return
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)


def sqlite_engine_options(options: dict[str, Any], busy_timeout_ms: int) -> dict[str, Any]:
    """Engine options with the busy timeout (pysqlite's ``timeout`` is sqlite's busy timeout)."""
    connect_args = {"timeout": busy_timeout_ms / 1000, **options.get("connect_args", {})}
    return {**options, "connect_args": connect_args}


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let the "begin" event issue BEGIN, so that a write can ask for BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    if mode:
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def single_read() -> Iterator[Connection]:
    """A connection outside the session for one read-only statement.

    On SQLite no ``BEGIN`` is sent: the statement is its own transaction. Used where a page can
    be answered from the cache after one small read (blog/settings.py).
    """
    with db.engine.connect() as connection:
        yield connection.execution_options(**{_BEGIN_OPTION: None})


def begin_write() -> None:
    """Start the session's transaction as a write transaction.

    On SQLite this is ``BEGIN IMMEDIATE``: the write lock is taken before anything is read, so the
    reads the transaction bases its writes on cannot go stale. A read-only transaction already
    open in the session is ended first (loaded objects are reloaded on next access). On other
    databases it only makes sure no stale transaction is carried into the write.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unflushed changes in the session")
        session.rollback()
    if db.engine.dialect.name == "sqlite":
        session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})
