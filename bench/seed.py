"""Seeding a benchmark database fast: generated rows bulk-loaded into the blog's real schema.

The schema comes from the models (``db.create_all()`` in the blog's app context). Rows go in by
SQLAlchemy Core ``executemany`` in chunks on SQLite and by ``COPY`` on PostgreSQL, with the
secondary indexes and the search index (:mod:`blog.posts.search`: its triggers or GIN index would
run
per row) built after the load. ``posts.comment_count`` is computed while generating, so it
equals each post's approved comments exactly; the seed is verified with
``blog.comments.counts.find_drift``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import Engine, Index, Table, create_engine, delete, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from bench.apps import BenchDatabase, make_blog_app
from bench.dataset import FIFTY_SLUG, Plan, Size, generate
from blog.comments.counts import find_drift, recount_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post
from blog.posts.search import create_search_index, drop_search_index

# Bump when the generated data changes, so that a kept database is seeded again.
SEED_FORMAT = 1
CHUNK = 20_000
# Tables filled in bulk: their secondary indexes are dropped for the load and built afterwards.
BULK_TABLES = ("posts", "comments", "post_categories", "post_tags")


@dataclass(frozen=True)
class Seeded:
    """A database ready for the benchmark."""

    database: BenchDatabase
    size: Size
    reused: bool
    seconds: float  # wall time of the seed; 0 when a kept database was reused
    marker: dict[str, Any]

    @property
    def max_comment_id(self) -> int:
        return int(self.marker["max_comment_id"])

    @property
    def fifty_root_comment_id(self) -> int:
        return int(self.marker["fifty_root_comment_id"])


def schema_fingerprint(dialect: Dialect) -> str:
    """A digest of the DDL of every table and index: a kept database must match the models."""
    parts: list[str] = []
    for table in db.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def prepare(
    database: BenchDatabase, size: Size, secret_key: str, instance: Path, keep: bool
) -> tuple[Seeded, Flask]:
    """Reuse the kept database when it matches ``size`` and the models, else seed it afresh.

    Returns the seeded database and an app on it (for cookies and clean-up between runs).
    """
    app = make_blog_app(database, secret_key, instance)
    with app.app_context():
        wanted = {
            "format": SEED_FORMAT,
            "size": size.name,
            "posts": size.posts,
            "comments": size.comments,
            "schema": schema_fingerprint(db.engine.dialect),
        }
    marker = read_marker(database) if keep else None
    if marker is not None and all(marker.get(k) == v for k, v in wanted.items()):
        seeded = Seeded(database, size, reused=True, seconds=0.0, marker=marker)
        discard_submitted_comments(app, seeded)
        return seeded, app
    try:
        with app.app_context():
            db.engine.dispose()
        forget(database)
        started = time.perf_counter()
        plan = generate(size)
        with app.app_context():
            db.create_all()
            db.engine.dispose()
            load(app, database, plan)
        seconds = time.perf_counter() - started
        with app.app_context():
            verify(plan)
    except BaseException:
        # Close every connection, so that dropping a half-seeded schema does not wait on us.
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        raise
    marker = {
        **wanted,
        "max_comment_id": plan.total_comments,
        "fifty_root_comment_id": plan.fifty_root_comment_id,
        "seconds": round(seconds, 1),
    }
    write_marker(database, marker)
    return Seeded(database, size, reused=False, seconds=seconds, marker=marker), app


# --- where the marker lives: a file beside the SQLite database, a comment on the schema ---


def _marker_path(database: BenchDatabase) -> Path:
    assert database.path is not None
    return database.path.with_suffix(".seed.json")


def _admin_engine(database: BenchDatabase) -> Engine:
    return create_engine(database.url, isolation_level="AUTOCOMMIT")


def read_marker(database: BenchDatabase) -> dict[str, Any] | None:
    try:
        if database.kind == "sqlite":
            assert database.path is not None
            if not database.path.exists():
                return None
            raw = _marker_path(database).read_text()
        else:
            engine = _admin_engine(database)
            with engine.connect() as conn:
                raw = conn.scalar(
                    text(
                        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                        "WHERE nspname = :schema"
                    ),
                    {"schema": database.schema},
                )
            engine.dispose()
            if not raw:
                return None
        found = json.loads(raw)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def write_marker(database: BenchDatabase, marker: dict[str, Any]) -> None:
    raw = json.dumps(marker)
    if database.kind == "sqlite":
        _marker_path(database).write_text(raw)
        return
    engine = _admin_engine(database)
    with engine.connect() as conn:
        quoted = raw.replace("'", "''")
        conn.execute(text(f"COMMENT ON SCHEMA \"{database.schema}\" IS '{quoted}'"))
    engine.dispose()


def forget(database: BenchDatabase) -> None:
    """Remove the database (the SQLite file, or the PostgreSQL schema), leaving it empty."""
    if database.kind == "sqlite":
        assert database.path is not None
        database.path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
        _marker_path(database).unlink(missing_ok=True)
        return
    engine = _admin_engine(database)
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{database.schema}"'))
    engine.dispose()


def drop(database: BenchDatabase) -> None:
    """Delete the database for good (the end of a run without ``--keep``)."""
    if database.kind == "sqlite":
        forget(database)
        return
    engine = _admin_engine(database)
    with engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '10s'"))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
    engine.dispose()


# --- loading ---


class Loader(Protocol):
    def rows(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert ``rows`` (tuples in ``columns`` order) into ``table``."""


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class CoreLoader:
    """SQLite: Core ``executemany`` in chunks, in one transaction."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def rows(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        statement = table.insert()
        for chunk in _chunks(rows, CHUNK):
            self.connection.execute(
                statement, [dict(zip(columns, row, strict=True)) for row in chunk]
            )


class CopyLoader:
    """PostgreSQL: ``COPY ... FROM STDIN`` through psycopg 3."""

    def __init__(self, driver_connection: Any) -> None:
        self.connection = driver_connection

    def rows(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)


def _bulk_indexes() -> list[Index]:
    return [ix for name in BULK_TABLES for ix in db.metadata.tables[name].indexes]


def _fill(loader: Loader, plan: Plan) -> None:
    for table_name, columns, rows in plan.tables():
        loader.rows(db.metadata.tables[table_name], columns, rows)


def load(app: Flask, database: BenchDatabase, plan: Plan) -> None:
    """Bulk-load ``plan`` into the empty schema, then build the indexes the load skipped."""
    if database.kind == "sqlite":
        assert database.path is not None
        # A plain engine for the load: no journal and no fsync (a failed seed is simply redone).
        engine = create_engine(f"sqlite:///{database.path}")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode = OFF")
            conn.exec_driver_sql("PRAGMA synchronous = OFF")
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            conn.commit()
            drop_search_index(conn)
            for index in _bulk_indexes():
                index.drop(conn)
            _fill(CoreLoader(conn), plan)
            for index in _bulk_indexes():
                index.create(conn)
            create_search_index(conn)
            conn.commit()
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")
        engine.dispose()
        return
    with app.app_context():
        with db.engine.begin() as conn:
            drop_search_index(conn)
            for index in _bulk_indexes():
                index.drop(conn)
        raw = db.engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            driver.execute("SET synchronous_commit = off")
            _fill(CopyLoader(driver), plan)
            driver.execute("SET maintenance_work_mem = '256MB'")
            for index in _bulk_indexes():
                driver.execute(str(CreateIndex(index).compile(dialect=db.engine.dialect)))
            raw.commit()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
                create_search_index(conn)
            for table_name in ("users", "categories", "tags", "posts", "comments"):
                driver.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                    f'(SELECT max(id) FROM "{table_name}"))'
                )
            raw.commit()
            # What autovacuum would do a minute later: statistics for the planner.
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")
        finally:
            raw.close()
        db.engine.dispose()


def verify(plan: Plan) -> None:
    """Every stored count equals the approved comments, and the 50-comment post has 50."""
    drift = find_drift()
    if drift:
        raise RuntimeError(f"seeded counts drifted on {len(drift)} posts, e.g. {drift[0]}")
    fifty = db.session.scalar(
        select(func.count(Comment.id))
        .join(Post, Post.id == Comment.post_id)
        .where(Post.slug == FIFTY_SLUG, Comment.status == CommentStatus.APPROVED)
    )
    posts = db.session.scalar(select(func.count(Post.id)))
    comments = db.session.scalar(select(func.count(Comment.id)))
    if (fifty, posts, comments) != (50, plan.size.posts, plan.total_comments):
        raise RuntimeError(f"seed check failed: {fifty=} {posts=} {comments=}")
    db.session.remove()


def discard_submitted_comments(app: Flask, seeded: Seeded) -> int:
    """Delete the replies the POST benchmark added, so every run starts from the seeded data."""
    with app.app_context():
        begin_write()
        newer = Comment.id > seeded.max_comment_id
        approved = db.session.scalar(
            select(func.count(Comment.id)).where(newer, Comment.status == CommentStatus.APPROVED)
        )
        db.session.execute(
            delete(ModerationEvent).where(ModerationEvent.comment_id > seeded.max_comment_id)
        )
        gone = db.session.execute(delete(Comment).where(newer)).rowcount  # type: ignore[attr-defined]
        db.session.commit()
        if approved:
            recount_comments()
        db.session.remove()
    return int(gone or 0)
