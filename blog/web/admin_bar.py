"""The admin bar and the moderation links of public pages, for signed-in staff only.

Only a signed-in user's page carries them, and such a page is never shared: ``conditional``
(blog.cache.versions) renders it for them alone, ``private, no-cache``. A cookieless reader, or
one with only a commenter's cookies, is anonymous here and gets neither (docs/admin.md).
What each link needs is the role matrix's word (blog.permissions.can), nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from blog.comments.moderation import ACTION_LABELS, keeps_it_shown, page_actions_for
from blog.comments.queue import count_label, held_count
from blog.models import Comment, Post, User
from blog.permissions import Action, can
from blog.web.access import signed_in_user

# The admin's own pages have their menu; the bar is for the public site.
ADMIN_BLUEPRINTS = frozenset({"admin", "moderation"})


@dataclass(frozen=True)
class AdminBar:
    """What the bar offers: the dashboard always, the rest as the role allows."""

    user: User
    new_post: bool
    edit_post: Post | None  # the post of this page, when the user may edit it
    held: int | None  # comments awaiting moderation in reach; None: not a moderator, or not counted

    @property
    def held_label(self) -> str:
        held = self.held or 0
        return f"{count_label(held)} held comment{'' if held == 1 else 's'}"


def admin_bar(post: Post | None = None) -> AdminBar | None:
    """The bar for the signed-in user on this public page (``post``: the page's post), or None
    for readers and on the admin's own pages. An error page gets the links without the count:
    its database may be the reason for the error."""
    user = signed_in_user()
    if user is None or request.blueprint in ADMIN_BLUEPRINTS:
        return None
    if not can(user, Action.ACCESS_ADMIN):
        return None
    held = None
    if can(user, Action.MODERATE) and not g.get("blog_error_page"):
        held = held_count(user)
    editable = post if post is not None and can(user, Action.EDIT_POST, post) else None
    return AdminBar(user, can(user, Action.CREATE_POST), editable, held)


@dataclass(frozen=True)
class CommentModeration:
    """The moderation links beside each comment of a post page whose comments the user may
    moderate: the actions as small forms, and edit (in the queue)."""

    def actions(self, comment: Comment) -> list[tuple[str, str, bool]]:
        """(action, label, whether the comment is still shown after it) for each action offered
        beside this comment: the form lands back on the comment, or on the comments of the post
        when the comment is gone from the page (its anchor would lead nowhere)."""
        if comment.deleted_at is not None:
            return []
        offered = page_actions_for(comment.status)
        return [(a.value, ACTION_LABELS[a][0], keeps_it_shown(a)) for a in offered]


def comment_moderation(post: Post) -> CommentModeration | None:
    """Moderation links for this post's comments, when the signed-in user may moderate them."""
    user = signed_in_user()
    if user is None or not can(user, Action.MODERATE, post):
        return None
    return CommentModeration()
