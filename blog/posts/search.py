"""Full-text search over published posts: SQLite FTS5 or PostgreSQL text search.

A reader's query is parsed here into plain words (matched as prefixes), ``"quoted phrases"`` and
``-excluded`` words, and only those are handed to the database, each quoted, so no input can be
read as an FTS5 or tsquery operator. Results are ranked (title matches weigh more), paginated like
every other list, and the title and a snippet of the text come back with the words marked.

The index:
- SQLite: ``posts_fts``, an FTS5 table of each post's title and the text of its body (the HTML
  without its tags, by :func:`search_text`, registered on every SQLite connection as the SQL
  function ``blog_search_text``), kept in step by triggers on ``posts``. Created with the
  ``posts`` table by ``db.create_all()`` (the DDL below) and by migration 0002. Changing a
  post's title or body therefore needs the application's connection (not the bare sqlite3 shell).
- PostgreSQL: ``posts.search_document``, a stored generated ``tsvector`` column (title weighted
  A, body D; PostgreSQL's parser skips HTML tags by itself) with a GIN index. It is not in the
  model: the ORM never reads or writes it, PostgreSQL computes it on every insert and update. A
  stored vector, rather than an index on the expression, lets a search that matches thousands of
  posts rank them without parsing every body again (0.5 s instead of 12 s on 100,000 posts).
"""

from __future__ import annotations

import html
import re
import sqlite3
import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import (
    DDL,
    ColumnClause,
    ColumnElement,
    Select,
    column,
    event,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import joinedload

from blog.extensions import db
from blog.models import Post
from blog.posts.reading import Page, PageNotFound, is_published
from blog.sanitize import PAGE_BREAK, html_to_text

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
MAX_EXCLUDED = 4
MAX_TERM_LENGTH = 40
SNIPPET_WORDS = 40

# --- the index ---------------------------------------------------------------------------------

FTS_TABLE = "posts_fts"
SQL_SEARCH_TEXT = "blog_search_text"
SQLITE_INDEX_DDL = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_after_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, title, body) "
    "VALUES (new.id, new.title, blog_search_text(new.body_html)); "
    "END",
    "CREATE TRIGGER posts_fts_after_delete AFTER DELETE ON posts BEGIN "
    "DELETE FROM posts_fts WHERE rowid = old.id; "
    "END",
    # Only when the indexed text changes: comment counts change far more often than bodies.
    "CREATE TRIGGER posts_fts_after_update AFTER UPDATE OF title, body_html ON posts BEGIN "
    "DELETE FROM posts_fts WHERE rowid = old.id; "
    "INSERT INTO posts_fts(rowid, title, body) "
    "VALUES (new.id, new.title, blog_search_text(new.body_html)); "
    "END",
)
SQLITE_INDEX_DROP = (
    "DROP TRIGGER IF EXISTS posts_fts_after_update",
    "DROP TRIGGER IF EXISTS posts_fts_after_delete",
    "DROP TRIGGER IF EXISTS posts_fts_after_insert",
    "DROP TABLE IF EXISTS posts_fts",
)
PG_INDEX_NAME = "ix_posts_search"
PG_DOCUMENT_COLUMN = "search_document"
# A title is plain text, so a "<" in it must not start a tag for the parser.
PG_INDEX_DDL = (
    "ALTER TABLE posts ADD COLUMN search_document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, replace(title, '<', ' ')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, body_html), 'D')) STORED",
    "CREATE INDEX ix_posts_search ON posts USING gin (search_document)",
)


def _attach_index_ddl() -> None:
    """Create the index with the ``posts`` table (``db.create_all()``), drop it before."""
    table = Post.__table__
    for statement in SQLITE_INDEX_DDL:
        event.listen(table, "after_create", _ddl(statement, "sqlite"))
    for statement in PG_INDEX_DDL:
        event.listen(table, "after_create", _ddl(statement, "postgresql"))
    for statement in SQLITE_INDEX_DROP:
        event.listen(table, "before_drop", _ddl(statement, "sqlite"))


def _ddl(statement: str, dialect: str) -> DDL:
    """``statement``, run only on ``dialect``."""
    # SQLAlchemy 2.0 leaves DDL's constructor unannotated.
    return DDL(statement).execute_if(dialect=dialect)  # type: ignore[no-untyped-call]


_attach_index_ddl()

_TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
# Tags that sit inside a word's run of text; any other tag separates words.
_INLINE_TAGS = frozenset(
    {"a", "abbr", "acronym", "b", "cite", "code", "del", "em", "i", "kbd", "mark", "q", "s"}
    | {"span", "strike", "strong", "sub", "sup"}
)


def search_text(body_html: str | None) -> str:
    """The words of sanitized HTML, as the SQLite index stores them: tags out, entities decoded.

    A cheap pass (it runs in a trigger on every insert): sanitized HTML is well-formed, so a
    tag pattern that respects quoted attribute values is enough.
    """
    if not body_html:
        return ""

    def replace(tag: re.Match[str]) -> str:
        return "" if (tag[2] or "").lower() in _INLINE_TAGS else " "

    # The page break between a post's pages is the one comment sanitized HTML holds: a space.
    return html.unescape(_TAG.sub(replace, body_html.replace(PAGE_BREAK, " ")))


def _register_sqlite_function(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(SQL_SEARCH_TEXT, 1, search_text, deterministic=True)


# Every SQLite connection of every engine: the triggers call it whoever changes a post.
event.listen(Engine, "connect", _register_sqlite_function)


def drop_search_index(connection: Connection) -> None:
    """Take the index away for a bulk load of posts; :func:`create_search_index` rebuilds it.

    On PostgreSQL the document column stays (it is computed as rows arrive); its GIN index, the
    costly part of a load, goes.
    """
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_INDEX_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX_NAME}")


def create_search_index(connection: Connection) -> None:
    """Build the index again over every post already there (after :func:`drop_search_index`)."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_INDEX_DDL:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(
            f"INSERT INTO {FTS_TABLE}(rowid, title, body) "
            f"SELECT id, title, {SQL_SEARCH_TEXT}(body_html) FROM posts"
        )
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(PG_INDEX_DDL[1])


def autogenerate_include_name(name: str | None, type_: str, _parents: object = None) -> bool:
    """alembic's ``include_name``: the index lives outside the models, autogenerate skips it
    (the FTS5 table and its shadow tables on SQLite, the document column and its index on
    PostgreSQL)."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "index":
        return name != PG_INDEX_NAME
    if type_ == "column":
        return name != PG_DOCUMENT_COLUMN
    return True


# --- the query -----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_PART = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class SearchQuery:
    """What a reader asked for, reduced to words the index can look up."""

    text: str  # the query as shown back to the reader
    words: tuple[str, ...] = ()  # each must appear, as a word or a word's beginning
    phrases: tuple[tuple[str, ...], ...] = ()  # each must appear, words in this order
    excluded: tuple[str, ...] = ()  # none may appear

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.phrases)


def parse_query(raw: str) -> SearchQuery:
    """Words, ``"quoted phrases"`` and ``-excluded`` words of a query; anything else is ignored.

    Punctuation separates words (as the indexes do), case is folded, and the query is capped at
    MAX_QUERY_LENGTH characters, MAX_TERMS words or phrases and MAX_EXCLUDED exclusions.
    """
    text = unicodedata.normalize("NFC", raw.replace("\x00", ""))[:MAX_QUERY_LENGTH].strip()
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for quoted, bare in _PART.findall(text):
        if bare.startswith("-") and len(bare) > 1:
            excluded.extend(w for w in _words(bare[1:]) if w not in excluded)
            continue
        found = _words(quoted if bare == "" else bare)
        if bare == "" and len(found) > 1:
            if tuple(found) not in phrases:
                phrases.append(tuple(found))
        else:
            words.extend(w for w in found if w not in words)
    words = words[:MAX_TERMS]
    phrases = phrases[: max(0, MAX_TERMS - len(words))]
    return SearchQuery(text, tuple(words), tuple(phrases), tuple(excluded[:MAX_EXCLUDED]))


def _words(text: str) -> list[str]:
    # Fold case first and compose again: casefold() can decompose a letter ("ῶ" becomes "ω" and
    # a combining mark, which is no word character), so words are found in the folded text.
    folded = unicodedata.normalize("NFC", text.casefold())
    return [w[:MAX_TERM_LENGTH] for w in _WORD.findall(folded)]


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression: every word and phrase a quoted string, so never an operator."""
    parts = [f'"{w}"*' for w in query.words] + ['"' + " ".join(p) + '"' for p in query.phrases]
    expression = " AND ".join(parts)
    for word in query.excluded:
        expression = f'({expression}) NOT "{word}"'
    return expression


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_text(query: SearchQuery) -> str:
    """The ``to_tsquery`` text: quoted lexemes joined by ``&``, ``<->``, ``!``, ``:*``."""
    parts = [f"{_lexeme(w)}:*" for w in query.words]
    parts += ["(" + " <-> ".join(_lexeme(w) for w in p) + ")" for p in query.phrases]
    parts += [f"!{_lexeme(w)}" for w in query.excluded]
    return " & ".join(parts)


# --- running it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    post: Post
    title_html: Markup
    snippet_html: Markup


def search_posts(raw_query: str, page: int, per_page: int) -> tuple[SearchQuery, Page[SearchHit]]:
    """Published posts matching the query, best first, with the words marked: two queries.

    An empty query finds nothing. Raises PageNotFound past the last page (page 1 always exists).
    """
    query = parse_query(raw_query)
    if query.is_empty:
        if page > 1:
            raise PageNotFound(str(page))
        return query, Page(items=[], page=1, per_page=per_page, total=0)
    if db.engine.dialect.name == "sqlite":
        matching, rank = _sqlite_search(query)
    else:
        matching, rank = _pg_search(query)
    # First the page of ids and the total, in narrow rows; then those posts, whole.
    ranked = db.session.execute(
        matching.with_only_columns(Post.id, func.count().over())
        .order_by(rank, Post.published_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if not ranked and page > 1:
        raise PageNotFound(str(page))
    total = ranked[0][1] if ranked else 0
    ids = [post_id for post_id, _total in ranked]
    loaded = db.session.scalars(
        select(Post)
        .where(Post.id.in_(ids))
        .options(joinedload(Post.author), joinedload(Post.primary_category))
    ).unique()
    by_id = {post.id: post for post in loaded}
    posts = [by_id[post_id] for post_id in ids if post_id in by_id]
    marker = Highlighter(query)
    hits = [
        SearchHit(p, marker.mark(p.title), marker.snippet(html_to_text(p.body_html))) for p in posts
    ]
    return query, Page(items=hits, page=page, per_page=per_page, total=total)


def _sqlite_search(query: SearchQuery) -> tuple[Select[tuple[Post]], ColumnElement[float]]:
    fts = table(FTS_TABLE, column("rowid"))
    # The table's own name: all its columns, in MATCH.
    everything: ColumnClause[object] = literal_column(FTS_TABLE)
    # The full-text query runs once, by itself; joined directly, SQLite's planner may walk the
    # posts instead and run the MATCH once per post (minutes on 100,000 posts).
    hits = (
        select(
            fts.c.rowid.label("post_id"),
            # bm25 is lower for better matches; a title match counts ten times a body match.
            func.bm25(everything, literal_column("10.0"), literal_column("1.0")).label("score"),
        )
        .where(everything.op("MATCH")(fts5_match(query)))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    matching = select(Post).join(hits, hits.c.post_id == Post.id).where(is_published())
    return matching, hits.c.score


def _pg_search(query: SearchQuery) -> tuple[Select[tuple[Post]], ColumnElement[float]]:
    document: ColumnClause[object] = literal_column(f"posts.{PG_DOCUMENT_COLUMN}")
    tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery_text(query))
    matching = select(Post).where(document.op("@@")(tsquery), is_published())
    return matching, func.ts_rank(document, tsquery).desc()


# --- marking the words ---------------------------------------------------------------------------


def _fold_char(char: str) -> str:
    """One character, lower-cased and without accents, still one character (offsets stay)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    folded = bare.casefold()
    if len(folded) == 1:
        return folded
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def _fold(text: str) -> str:
    return "".join(_fold_char(c) for c in text)


class Highlighter:
    """Marks the query's words in plain text: escaped text with ``<mark>`` around the words."""

    def __init__(self, query: SearchQuery) -> None:
        prefixes = sorted({_fold(w) for w in query.words}, key=len, reverse=True)
        exact = sorted({_fold(w) for p in query.phrases for w in p}, key=len, reverse=True)
        alternatives = [re.escape(w) + r"[^\W_]*" for w in prefixes]
        alternatives += [re.escape(w) + r"(?![^\W_])" for w in exact]
        self._pattern = (
            re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")") if alternatives else None
        )

    def _spans(self, text: str) -> list[tuple[int, int]]:
        if self._pattern is None:
            return []
        return [m.span() for m in self._pattern.finditer(_fold(text)) if m.end() > m.start()]

    def mark(self, text: str) -> Markup:
        """The whole text, escaped, the words marked."""
        return _marked(text, self._spans(text))

    def snippet(self, text: str, words: int = SNIPPET_WORDS) -> Markup:
        """About ``words`` words of the text around the first marked word, with ellipses."""
        spans = self._spans(text)
        starts = [m.start() for m in re.finditer(r"\S+", text)]
        if len(starts) <= words:
            return _marked(text, spans)
        first = spans[0][0] if spans else 0
        at = max(0, sum(1 for s in starts if s <= first) - 1 - words // 4)
        begin = starts[min(at, len(starts) - words)]
        end_word = min(len(starts), at + words)
        end = starts[end_word] if end_word < len(starts) else len(text)
        window = text[begin:end].rstrip()
        stop = begin + len(window)
        inside = [(a - begin, b - begin) for a, b in spans if a >= begin and b <= stop]
        before = Markup("… ") if begin > 0 else Markup("")
        after = Markup(" …") if end < len(text) else Markup("")
        return before + _marked(window, inside) + after


def _marked(text: str, spans: list[tuple[int, int]]) -> Markup:
    """Escape every piece of the text, then put ``<mark>`` around the spans."""
    out: list[Markup] = []
    position = 0
    for start, end in spans:
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)
