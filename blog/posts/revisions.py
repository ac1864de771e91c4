"""A post's revisions: list them, compare two, restore one.

Every save of a post (the admin's form, the API, a restore) keeps a revision, written by
blog.posts.authoring in the save's own transaction: the newest revision is the post as it is.
All are kept, as WordPress keeps them by default; a revision goes only with its post.

The comparison is a readable diff (blog.posts.diffs) of the title, the text and the excerpt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import load_only, selectinload

from blog.extensions import db
from blog.models import Post, PostRevision, User
from blog.permissions import Action, ensure
from blog.posts import authoring
from blog.posts.diffs import diff_html
from blog.posts.excerpts import automatic_excerpt
from blog.posts.reading import Page, PageNotFound
from blog.sanitize import SanitizeFailed, render_markdown

REVISIONS_PER_PAGE = 50


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


def newest_revision_id(post: Post) -> int | None:
    """The id of the post's newest revision (the post as it is), or None when it has none."""
    newest = select(func.max(PostRevision.id)).where(PostRevision.post_id == post.id)
    return db.session.scalar(newest)


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
