"""A post's revisions: list them, compare two, restore one.

Every save of a post (the admin's form, the API, a restore) keeps a revision, written by
blog.posts.authoring in the save's own transaction: the newest revision is the post as it is.
All are kept, as WordPress keeps them by default; a revision goes only with its post.

The comparison is a readable diff of the title, the text and the excerpt: lines that differ
are shown with their changed words marked ``<ins>``/``<del>``, unchanged stretches shortened
to a few lines around each change, every piece of text escaped.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import load_only, selectinload

from blog.extensions import db
from blog.models import Post, PostRevision, User
from blog.permissions import Action, ensure
from blog.posts import authoring
from blog.posts.excerpts import automatic_excerpt
from blog.posts.reading import Page, PageNotFound
from blog.sanitize import SanitizeFailed, render_markdown

REVISIONS_PER_PAGE = 50
CONTEXT_LINES = 2  # unchanged lines shown around each change
# Lines longer than this (in words and spaces) are compared whole: the word-level matcher's
# cost grows with the square of a line's length in the worst case.
MAX_WORD_DIFF_TOKENS = 2_000
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


class RevisionNotFound(LookupError):
    """No revision of this post has that id."""


@dataclass(frozen=True)
class FieldDiff:
    label: str
    changed: bool
    html: Markup  # the diff, escaped text with <ins>/<del>


@dataclass(frozen=True)
class Comparison:
    older: PostRevision
    newer: PostRevision
    fields: list[FieldDiff]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.fields)


def revisions_of(
    post: Post, page: int = 1, per_page: int = REVISIONS_PER_PAGE
) -> Page[PostRevision]:
    """The post's revisions, newest first, without their texts. Raises PageNotFound past the
    last page."""
    total = revision_count(post)
    if page > 1 and (page - 1) * per_page >= total:
        raise PageNotFound(str(page))
    rows = db.session.scalars(
        select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .options(
            load_only(
                PostRevision.id,
                PostRevision.post_id,
                PostRevision.title,
                PostRevision.author_name,
                PostRevision.saved_at,
            )
        )
        .order_by(PostRevision.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), page, per_page, total)


def revision_count(post: Post) -> int:
    count = select(func.count(PostRevision.id)).where(PostRevision.post_id == post.id)
    return db.session.scalar(count) or 0


def get_revision(post: Post, revision_id: int) -> PostRevision:
    """The revision of ``post`` with this id. Raises RevisionNotFound."""
    found = db.session.scalars(
        select(PostRevision)
        .where(PostRevision.id == revision_id, PostRevision.post_id == post.id)
        .options(selectinload(PostRevision.author))
    ).one_or_none()
    if found is None:
        raise RevisionNotFound(revision_id)
    return found


def previous_revision_id(post: Post, revision_id: int) -> int | None:
    """The id of the revision saved just before this one, or None for the first."""
    return db.session.scalar(
        select(func.max(PostRevision.id)).where(
            PostRevision.post_id == post.id, PostRevision.id < revision_id
        )
    )


def compare(post: Post, older_id: int, newer_id: int) -> Comparison:
    """The differences between two revisions of ``post`` (in either order: the one saved
    first is the older). Raises RevisionNotFound."""
    older, newer = get_revision(post, older_id), get_revision(post, newer_id)
    if older.id > newer.id:
        older, newer = newer, older
    fields = [
        _field("Title", older.title, newer.title),
        _field("Text", older.body_source, newer.body_source),
        _field("Excerpt", older.excerpt, newer.excerpt),
    ]
    return Comparison(older, newer, fields)


def restore_revision(actor: User, post: Post, revision_id: int) -> Post:
    """Save the post again with the title, text and excerpt of one of its revisions (the rest,
    such as categories and status, stays as it is now). The restore is a save like any other:
    it keeps a new revision. Raises NotAllowed, RevisionNotFound or PostRejected."""
    ensure(actor, Action.EDIT_POST, post)
    revision = get_revision(post, revision_id)
    restored = dataclasses.replace(
        authoring.changes_of(post),
        title=revision.title,
        body=revision.body_source,
        excerpt=_typed_excerpt_of(revision),
    )
    return authoring.update_post(actor, post, restored)


def _typed_excerpt_of(revision: PostRevision) -> str:
    """The revision's excerpt as typed: "" when it was the automatic one, so that the restored
    post's excerpt follows its text again."""
    try:
        automatic = automatic_excerpt(revision.body_source, render_markdown(revision.body_source))
    except SanitizeFailed:
        return revision.excerpt
    return "" if revision.excerpt == automatic else revision.excerpt


def _field(label: str, old: str, new: str) -> FieldDiff:
    return FieldDiff(label, old != new, diff_html(old, new))


def diff_html(old: str, new: str) -> Markup:
    """A readable diff of two texts as HTML: one ``<div class="diff-line">`` per line shown,
    removed lines in ``<del>``, added ones in ``<ins>``, a changed line with its changed words
    marked, and a ``diff-skip`` line where unchanged lines are left out."""
    a, b = old.splitlines(), new.splitlines()
    if a == b:
        return Markup('<div class="diff-line diff-same">No changes.</div>')
    out: list[Markup] = []
    groups = list(SequenceMatcher(None, a, b).get_grouped_opcodes(CONTEXT_LINES))
    for n, group in enumerate(groups):
        if n or group[0][1] > 0:
            out.append(Markup('<div class="diff-line diff-skip">⋯</div>'))
        for tag, i1, i2, j1, j2 in group:
            out.extend(_lines(tag, a[i1:i2], b[j1:j2]))
    if groups and (last := groups[-1][-1]) and last[2] < len(a):
        out.append(Markup('<div class="diff-line diff-skip">⋯</div>'))
    return Markup("").join(out)


def _lines(tag: str, old: list[str], new: list[str]) -> list[Markup]:
    if tag == "equal":
        return [_line("diff-equal", escape(line)) for line in old]
    paired = min(len(old), len(new)) if tag == "replace" else 0
    pairs = zip(old[:paired], new[:paired], strict=True)
    lines = [_line("diff-changed", _words(o, n)) for o, n in pairs]
    lines += [_line("diff-removed", _marked("del", line)) for line in old[paired:]]
    lines += [_line("diff-added", _marked("ins", line)) for line in new[paired:]]
    return lines


def _line(kind: str, html: Markup) -> Markup:
    return Markup('<div class="diff-line {}">{}</div>').format(kind, html)


def _marked(tag: str, text: str) -> Markup:
    if not text:
        return Markup("")
    return Markup("<{0}>{1}</{0}>").format(Markup(tag), text)


def _words(old: str, new: str) -> Markup:
    """One changed line: the words that stay, the removed ones in <del>, the added in <ins>."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if max(len(a), len(b)) > MAX_WORD_DIFF_TOKENS:
        return _marked("del", old) + _marked("ins", new)
    pieces: list[Markup] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(escape("".join(a[i1:i2])))
            continue
        pieces.append(_marked("del", "".join(a[i1:i2])))
        pieces.append(_marked("ins", "".join(b[j1:j2])))
    return Markup("").join(pieces)
