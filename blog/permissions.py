"""The role matrix of SPEC section 7, as data, and the one function that reads it."""

from __future__ import annotations

import enum

from sqlalchemy import ColumnElement, true

from blog.models import Comment, Media, Post, Role, User


class Action(enum.StrEnum):
    ACCESS_ADMIN = "access_admin"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_CATEGORIES = "manage_categories"
    CREATE_POST = "create_post"
    EDIT_POST = "edit_post"
    PUBLISH_POST = "publish_post"
    DELETE_POST = "delete_post"
    MODERATE = "moderate"
    UPLOAD_MEDIA = "upload_media"
    MANAGE_MEDIA = "manage_media"  # edit the alt text of, or delete, an uploaded file


ALL = "all"  # the action applies to anything
OWN = "own"  # only to posts the user wrote (and comments on them)

MATRIX: dict[Action, dict[Role, str]] = {
    Action.ACCESS_ADMIN: {r: ALL for r in Role},
    Action.MANAGE_USERS: {Role.ADMIN: ALL},
    Action.MANAGE_SETTINGS: {Role.ADMIN: ALL},
    Action.MANAGE_CATEGORIES: {Role.ADMIN: ALL, Role.EDITOR: ALL},
    Action.CREATE_POST: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: ALL},
    Action.EDIT_POST: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: OWN},
    Action.PUBLISH_POST: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: OWN},
    Action.DELETE_POST: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: OWN},
    Action.MODERATE: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.MODERATOR: ALL, Role.AUTHOR: OWN},
    # WordPress's upload_files: authors and above; authors manage the files they uploaded.
    Action.UPLOAD_MEDIA: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: ALL},
    Action.MANAGE_MEDIA: {Role.ADMIN: ALL, Role.EDITOR: ALL, Role.AUTHOR: OWN},
}


def scope(user: User | None, action: Action) -> str | None:
    """ALL, OWN, or None (not allowed) for this user and action. Inactive users may do nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return None
    return MATRIX[action].get(user.role)


def can(user: User | None, action: Action, obj: Post | Comment | Media | None = None) -> bool:
    """May ``user`` do ``action`` (to ``obj``, a post, a comment on one, or an uploaded file)?

    With no object, an OWN scope means "to some things": an author may open the comment queue,
    which then shows only comments on their own posts.
    """
    allowed = scope(user, action)
    if allowed is None or user is None:
        return False
    if allowed == ALL or obj is None:
        return True
    return _owner_id(obj) == user.id


def _owner_id(obj: Post | Comment | Media) -> int | None:
    if isinstance(obj, Post):
        return obj.author_id
    if isinstance(obj, Media):
        return obj.uploaded_by_id
    return obj.post.author_id


def may_stick(user: User | None) -> bool:
    """May ``user`` stick a post to the top of the home page, or unstick it? WordPress's rule
    (``edit_others_posts``): those who may edit every post, editors and admins."""
    return scope(user, Action.EDIT_POST) == ALL


class NotAllowed(PermissionError):
    """The user may not do this; views answer 403."""

    def __init__(self, action: Action, message: str = "") -> None:
        super().__init__(message or f"Not allowed: {action.value}.")
        self.action = action
        self.message = message or "You do not have permission to do that."


def ensure(user: User | None, action: Action, obj: Post | Comment | Media | None = None) -> None:
    """Raise NotAllowed unless :func:`can` says yes. Domain functions call it before writing."""
    if not can(user, action, obj):
        raise NotAllowed(action)


def post_scope_filter(user: User, action: Action) -> ColumnElement[bool]:
    """SQL condition on ``Post`` selecting the posts ``user`` may do ``action`` to."""
    allowed = scope(user, action)
    if allowed == ALL:
        return true()
    if allowed == OWN:
        return Post.author_id == user.id
    return Post.id.is_(None)  # nothing
