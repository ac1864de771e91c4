"""PostgreSQL schemas for the tests: each test gets a schema of its own, either new and empty or,
for a test that builds the app (``make_app``), one from this process's pool whose tables exist
and hold no rows.

Creating the tables costs PostgreSQL about 55 ms of catalog work per test (one DDL script) and
dropping the schema 15-25 ms more, most of a PostgreSQL test's setup; emptying the tables of a
used schema costs a few. A schema goes back to the pool only when its tables, columns, indexes
and constraints are still exactly those the script made (a test may migrate, alter or drop
them); otherwise it is dropped, as every schema is at the end of the run.
"""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import Engine, create_engine, create_mock_engine, make_url, text

from blog.extensions import db

# What the schema looks like: every column, index and constraint, schema name left out.
_SHAPE = text(
    """
    SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (SELECT replace(item, :schema || '.', '')
    AS item FROM (
        SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
               || ':' || coalesce(column_default, '') AS item
        FROM information_schema.columns WHERE table_schema = :schema
        UNION ALL
        SELECT tablename || ':' || indexdef FROM pg_indexes WHERE schemaname = :schema
        UNION ALL
        SELECT conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = :schema
    ) AS raw) AS items
    """
)
_RESTART_SEQUENCES = text(
    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
    "FROM pg_sequences WHERE schemaname = :schema"
)


def table_ddl(url: str) -> str:
    """What ``db.create_all()`` sends to PostgreSQL (its ``after_create`` DDL, the search
    column, included), as one script."""
    statements: list[str] = []
    dialect = make_url(url).get_dialect()()
    recorder = create_mock_engine(
        url, lambda sql, *_a, **_k: statements.append(str(sql.compile(dialect=dialect)))
    )
    db.metadata.create_all(recorder, checkfirst=False)
    return ";\n".join(s.strip() for s in statements) + ";"


class SchemaPool:
    """The schemas of one test process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin: Engine | None = None
        self._ddl: str | None = None
        self._shape: str | None = None  # the shape of a schema the DDL script just made
        self._free: list[str] = []
        self._made: set[str] = set()

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        return self._admin

    def empty(self) -> str:
        """A new schema with nothing in it."""
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._made.add(schema)
        return schema

    def with_tables(self) -> str:
        """A schema whose tables exist and are empty: from the pool, or new."""
        if self._free:
            return self._free.pop()
        schema = self.empty()
        if self._ddl is None:
            self._ddl = table_ddl(self.url)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            conn.exec_driver_sql(self._ddl)
            conn.exec_driver_sql("RESET search_path")
            if self._shape is None:
                self._shape = conn.execute(_SHAPE, {"schema": schema}).scalar_one()
        return schema

    def give_back(self, schema: str) -> None:
        """Empty ``schema`` into the pool when its tables are as made, else drop it."""
        try:
            with self.admin.connect() as conn:
                if conn.execute(_SHAPE, {"schema": schema}).scalar_one() == self._shape:
                    deletes = "".join(
                        f'DELETE FROM "{schema}"."{table.name}";'
                        for table in reversed(db.metadata.sorted_tables)
                    )
                    conn.exec_driver_sql(f"SET lock_timeout = '5s';{deletes}RESET lock_timeout;")
                    conn.execute(_RESTART_SEQUENCES, {"schema": schema})
                    self._free.append(schema)
                    return
        except Exception:  # locked or gone: dropping it below says what is wrong, if anything
            pass
        self.drop(schema)

    def drop(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self._made.discard(schema)

    def close(self) -> None:
        """Drop every schema this process made (the end of the run)."""
        if self._admin is None:
            return
        for schema in list(self._made):
            with contextlib.suppress(Exception):
                self.drop(schema)
        self._free.clear()
        self._admin.dispose()
