"""The comment thread of a post: one query, one pass to build the tree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post


@dataclass
class ThreadNode:
    """A comment with its replies, as the post page shows it."""

    comment: Comment
    depth: int
    parent_node: ThreadNode | None = field(default=None, repr=False)
    children: list[ThreadNode] = field(default_factory=list)

    @property
    def awaiting_moderation(self) -> bool:
        return self.comment.status != CommentStatus.APPROVED


def visible_comments(post: Post, own_comment_ids: Iterable[int] = ()) -> list[Comment]:
    """Approved comments of the post plus the viewer's own pending ones, oldest first."""
    own = [i for i in own_comment_ids if isinstance(i, int)][:200]
    shown = Comment.status == CommentStatus.APPROVED
    if own:
        shown = or_(shown, Comment.id.in_(own) & (Comment.status == CommentStatus.PENDING))
    stmt = (
        select(Comment)
        .where(Comment.post_id == post.id, shown)
        .order_by(Comment.created_at, Comment.id)
    )
    return list(db.session.scalars(stmt))


def build_thread(comments: list[Comment], max_depth: int = 5) -> list[ThreadNode]:
    """Nest comments under their parents in one pass over a list sorted oldest first.

    A reply whose parent is not shown (held, trashed, deleted) is shown at the top level, as
    WordPress does; a reply deeper than ``max_depth`` is shown at the deepest level allowed.
    """
    nodes: dict[int, ThreadNode] = {}
    roots: list[ThreadNode] = []
    for comment in comments:
        parent = nodes.get(comment.parent_id) if comment.parent_id is not None else None
        if parent is None:
            node = ThreadNode(comment, 1)
            roots.append(node)
        else:
            while parent.depth >= max_depth and parent.parent_node is not None:
                parent = parent.parent_node
            node = ThreadNode(comment, parent.depth + 1, parent)
            parent.children.append(node)
        nodes[comment.id] = node
    return roots
