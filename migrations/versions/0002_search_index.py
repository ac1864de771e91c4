"""search index: FTS5 table and triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL

The statements are copied here rather than imported from blog.posts.search: a migration must keep
meaning what it meant when it was written. Keep the two in step when either changes.

On SQLite the triggers call blog_search_text(), which the application registers on each of its
connections (blog.posts.search.search_text); this migration registers its own copy to index the posts
that already exist. A batch migration that recreates the posts table drops these triggers with
it; such a migration must create them again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00

"""
import html
import re

from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_after_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, title, body) "
    "VALUES (new.id, new.title, blog_search_text(new.body_html)); "
    "END",
    "CREATE TRIGGER posts_fts_after_delete AFTER DELETE ON posts BEGIN "
    "DELETE FROM posts_fts WHERE rowid = old.id; "
    "END",
    "CREATE TRIGGER posts_fts_after_update AFTER UPDATE OF title, body_html ON posts BEGIN "
    "DELETE FROM posts_fts WHERE rowid = old.id; "
    "INSERT INTO posts_fts(rowid, title, body) "
    "VALUES (new.id, new.title, blog_search_text(new.body_html)); "
    "END",
    # Index the posts that already exist.
    "INSERT INTO posts_fts(rowid, title, body) "
    "SELECT id, title, blog_search_text(body_html) FROM posts",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS posts_fts_after_update",
    "DROP TRIGGER IF EXISTS posts_fts_after_delete",
    "DROP TRIGGER IF EXISTS posts_fts_after_insert",
    "DROP TABLE IF EXISTS posts_fts",
)
_TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
_INLINE_TAGS = frozenset(
    {"a", "abbr", "acronym", "b", "cite", "code", "del", "em", "i", "kbd", "mark", "q", "s"}
    | {"span", "strike", "strong", "sub", "sup"}
)


def search_text(body_html):
    """The words of sanitized HTML: tags out (inline ones without a space), entities decoded."""
    if not body_html:
        return ""

    def replace(tag):
        return "" if (tag[2] or "").lower() in _INLINE_TAGS else " "

    return html.unescape(_TAG.sub(replace, body_html))


PG_UP = (
    # A stored vector (not an index on the expression): ranking reads it instead of parsing
    # every matching body again. Not in the models; autogenerate ignores it (blog.posts.search).
    "ALTER TABLE posts ADD COLUMN search_document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, replace(title, '<', ' ')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, body_html), 'D')) STORED",
    "CREATE INDEX ix_posts_search ON posts USING gin (search_document)",
)
PG_DOWN = (
    "DROP INDEX IF EXISTS ix_posts_search",
    "ALTER TABLE posts DROP COLUMN IF EXISTS search_document",
)


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        dbapi_connection = op.get_bind().connection.dbapi_connection
        dbapi_connection.create_function("blog_search_text", 1, search_text, deterministic=True)
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(PG_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(PG_DOWN)
