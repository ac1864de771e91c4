"""Engine set-up and transactions.

SQLite is tuned for a web server: WAL journal (readers never block the writer), foreign keys
enforced, a busy timeout, and write transactions that take the write lock at ``BEGIN`` so that
concurrent writers queue on the busy timeout instead of failing mid-transaction.
"""

from __future__ import annotations

from typing import Any, Final

from blinker import Namespace
from flask import current_app
from sqlalchemy import Executable, create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError

from blog.extensions import db

_BEGIN_OPTION: Final = "blog_sqlite_begin"


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


def server_engine_options(options: dict[str, Any]) -> dict[str, Any]:
    """Engine options for a database server: each pooled connection is checked before use
    (``pool_pre_ping``), so that after the server restarts no request fails on a connection it
    dropped; options set in the configuration win."""
    return {"pool_pre_ping": True, **options}


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
    connection.exec_driver_sql(f"BEGIN {mode}")


# Sent with the SQL of every statement run by read_value(), which bypasses SQLAlchemy's events:
# whatever watches the statements (the test suite's query counter) listens here too.
raw_statement = Namespace().signal("raw-statement")


def read_engine(engine: Engine, url: str, options: dict[str, Any]) -> Engine:
    """The engine read_value() uses: SQLite's own engine, or for a database server a small pool
    of its own in autocommit and without ``pool_pre_ping``.

    Each pre-ping is a round trip to the server, as long as the read itself: on PostgreSQL it
    was half of what a page from the cache cost. A connection the server dropped (it
    restarted) is noticed when the read fails instead; read_value() then renews this pool and
    reads once more.
    """
    if engine.dialect.name == "sqlite":
        return engine
    # The same pool size as the app's engine: connections past it are closed on return, and a
    # new one per request (a server process forked for it) was slower than any ping.
    own = {**options, "pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"}
    return create_engine(url, **own)


def read_value(sql: str, engine: Engine | None = None) -> Any:
    """The first column of the first row of ``sql`` (a constant statement, no parameters), read
    on a pooled connection without SQLAlchemy's execution layer.

    For the one read a page from the cache costs. Earns its keep: the post page from the page
    store at 0.58 ms with it, 1.59 ms with the read through the session, 63 % of the request
    (python -m bench.machinery, CPU per request in process, SQLite, 2026-12-07;
    docs/benchmark.md). The statement is its own transaction: SQLite sends no implicit
    BEGIN on our connections, and on a server the read engine's connections are in autocommit
    (no BEGIN before it, no ROLLBACK after). ``engine`` defaults to the app's read engine
    (:func:`read_engine`); callers outside an application context pass it.
    """
    if engine is None:
        engine = current_app.extensions.get("blog_read_engine") or db.engine
    try:
        return _read_value(engine, sql)
    except DBAPIError as error:
        if not error.connection_invalidated or engine.dialect.name == "sqlite":
            raise
    # The server dropped the connection (it restarted, say): the others in the pool are gone
    # too. A new pool, and one more try; if that fails, the error stands (a 503).
    engine.dispose()
    return _read_value(engine, sql)


def _read_value(engine: Engine, sql: str) -> Any:
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except dbapi_error as error:  # the server is not there
        raise DBAPIError.instance(sql, None, error, dbapi_error, dialect=engine.dialect) from error
    try:
        cursor = connection.cursor()
        try:
            raw_statement.send(sql)
            cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except dbapi_error as error:  # as SQLAlchemy would raise it: OperationalError answers 503
        gone = engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
        if gone:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, None, error, dbapi_error, connection_invalidated=gone, dialect=engine.dialect
        ) from error
    finally:
        connection.close()
    return row[0] if row else None


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


def rows_changed(statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE in the session; the number of rows it changed.

    SQLAlchemy types ``Session.execute``'s result as ``Result``; for these statements it is a
    ``CursorResult``, which has the count.
    """
    result = db.session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"not an INSERT, UPDATE or DELETE: {statement}")
    return result.rowcount
