"""``flask blog resanitize``: render every stored body again from its source.

After the sanitizer's allowlist changes, stored ``body_html`` still reflects the old rules. Each
post's HTML is rendered again from its ``body_source`` (Markdown, or the HTML of an imported
post, which the Markdown renderer passes through to the sanitizer), each comment's from what
its author typed and each category's description from its source. Only bodies that come out
different are written, in batches, each batch its own short write transaction so that the site
keeps taking comments meanwhile.

Then each post's automatic excerpt is made again by the current rule (blog.posts.excerpts: blocks
kept apart, the ``<!--more-->`` tag); an excerpt its writer typed is left alone.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import Row, select, update

from blog.database import begin_write
from blog.extensions import db
from blog.models import Category, Comment, Post
from blog.posts.authoring import render_description
from blog.posts.excerpts import automatic_excerpt, is_automatic
from blog.posts.media import render_post_body
from blog.sanitize import SanitizeFailed, sanitize_comment

BATCH = 500


@dataclass(frozen=True)
class Resanitized:
    posts: int  # checked
    posts_changed: int
    comments: int
    comments_changed: int
    excerpts_changed: int = 0  # automatic excerpts made again by the current rule
    categories: int = 0
    categories_changed: int = 0


def resanitize_all(batch: int = BATCH) -> Resanitized:
    """Re-render every post and comment body and category description, and make automatic
    excerpts again; returns how many were checked and changed."""
    posts, posts_changed = _rerender(Post, render_post_body, batch)
    comments, comments_changed = _rerender(Comment, sanitize_comment, batch)
    excerpts = _refresh_excerpts(batch)
    categories, categories_changed = _rerender_descriptions(batch)
    return Resanitized(
        posts, posts_changed, comments, comments_changed, excerpts, categories, categories_changed
    )


Rows: TypeAlias = Sequence[Row[Any]]


def _in_batches(
    model: type[Post] | type[Comment] | type[Category],
    columns: Sequence[Any],
    fresh_values: Callable[[Rows], list[dict[str, Any]]],
    batch: int,
) -> tuple[int, int]:
    """Walk the table by id, ``batch`` rows per short write transaction (so the site keeps
    taking comments meanwhile), writing what ``fresh_values`` says changed (each a dict with the
    row's "id"). Returns how many rows were checked and how many changed."""
    checked = changed = last_id = 0
    while True:
        begin_write()
        rows = db.session.execute(
            select(model.id, *columns).where(model.id > last_id).order_by(model.id).limit(batch)
        ).all()
        if not rows:
            db.session.rollback()
            return checked, changed
        updates = fresh_values(rows)
        if updates:
            db.session.execute(update(model), updates)
        db.session.commit()
        checked += len(rows)
        changed += len(updates)
        last_id = rows[-1][0]


def _refresh_excerpts(batch: int) -> int:
    def fresh(rows: Rows) -> list[dict[str, Any]]:
        return [
            {"id": row_id, "excerpt": made}
            for row_id, source, body_html, excerpt in rows
            if is_automatic(excerpt, source, body_html)
            and (made := automatic_excerpt(source, body_html)) != excerpt
        ]

    columns = (Post.body_source, Post.body_html, Post.excerpt)
    return _in_batches(Post, columns, fresh, batch)[1]


def _rerender_descriptions(batch: int) -> tuple[int, int]:
    def fresh(rows: Rows) -> list[dict[str, Any]]:
        return [
            {"id": row_id, "description_html": made}
            for row_id, source, stored in rows
            if (made := _rendered(render_description, source or "")) != stored
        ]

    columns = (Category.description, Category.description_html)
    return _in_batches(Category, columns, fresh, batch)


def _rerender(
    model: type[Post] | type[Comment], render: Callable[[str], str], batch: int
) -> tuple[int, int]:
    def fresh(rows: Rows) -> list[dict[str, Any]]:
        return [
            {"id": row_id, "body_html": made}
            for row_id, source, stored in rows
            if (made := _rendered(render, source or "")) != stored
        ]

    return _in_batches(model, (model.body_source, model.body_html), fresh, batch)


def _rendered(render: Callable[[str], str], source: str) -> str:
    """The fresh HTML; the source shown as typed (escaped) when a parser now fails on it, since
    HTML made by an older sanitizer is not trusted either."""
    try:
        return render(source)
    except SanitizeFailed:
        return html.escape(source)
