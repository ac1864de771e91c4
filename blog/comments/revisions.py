"""Earlier texts of comments: every edit, a reader's or a moderator's, keeps the text it
replaced, for moderators to see in the queue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, CommentRevision, User

EDITOR_NAME_MAX = 245  # CommentRevision.editor_name, as a commenter's name


def keep_revision(comment: Comment, editor: User | None, at: datetime) -> None:
    """Keep the text an edit is about to replace, for moderators (no flush, no commit).
    ``editor`` None is the commenter, editing as an anonymous reader."""
    name = editor.display_name if editor is not None else comment.author_name
    db.session.add(
        CommentRevision(
            comment_id=comment.id,
            body_source=comment.body_source,
            body_html=comment.body_html,
            edited_at=at,
            editor_id=editor.id if editor is not None else None,
            editor_name=name[:EDITOR_NAME_MAX],
        )
    )


def revisions_of(comment_ids: Sequence[int]) -> dict[int, list[CommentRevision]]:
    """Earlier texts of these comments, newest first (one query; none without ids), for the
    moderation queue. Only comments with an ``edited_at`` have any."""
    found: dict[int, list[CommentRevision]] = defaultdict(list)
    if comment_ids:
        rows = db.session.scalars(
            select(CommentRevision)
            .where(CommentRevision.comment_id.in_(comment_ids))
            .order_by(CommentRevision.edited_at.desc(), CommentRevision.id.desc())
        )
        for revision in rows:
            found[revision.comment_id].append(revision)
    return dict(found)
