"""The alembic migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from blog import create_app
from blog.extensions import db
from blog.posts.search import autogenerate_include_name


# SQLAlchemy cannot reflect an expression index on SQLite (ix_posts_listed_at_id), so alembic
# cannot compare it there; both say so, and the test checks that index's SQL instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_matches_models_and_downgrade_empties(
    database: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", **database}, instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            opts = {"compare_type": True, "include_name": autogenerate_include_name}
            context = MigrationContext.configure(connection, opts=opts)
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                sql = connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ix_posts_listed_at_id'")
                )
            assert "coalesce(published_at, created_at), id" in " ".join(str(sql).split())
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "posts", "comments", "categories", "moderation_events"} <= tables

        downgrade(revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "SECRET_KEY": "x"},
        instance_path=str(tmp_path / "i"),
    )
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    with app.app_context():
        db.engine.dispose()
