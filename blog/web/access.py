"""The one gate in front of every admin view: sign-in first, then the role matrix; and CSRF
for the forms anonymous readers share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from blog.extensions import csrf
from blog.models import Comment, Post, User
from blog.permissions import Action, can

F = TypeVar("F", bound=Callable[..., Any])


def signed_in_user() -> User | None:
    user = current_user._get_current_object()
    return cast(User, user) if user.is_authenticated else None


def protect_signed_in() -> None:
    """CSRF for a signed-in user's post to a view exempt for anonymous readers (the reply form
    and its preview): their page is shared by every reader, so it has no per-reader token, and
    the origin check every state-changing request passes (blog.web.origin) protects it instead."""
    if signed_in_user() is not None and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def require(action: Action) -> Callable[[F], F]:
    """Anonymous: redirect to ``/login?next=<this path>``; signed in without the right: 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = signed_in_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not can(user, action):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def authorize(action: Action, obj: Post | Comment) -> None:
    """403 unless the signed-in user may do ``action`` to this very post or comment."""
    if not can(signed_in_user(), action, obj):
        abort(403)


# (endpoint, label, action): the admin menu shows the entries the user may open.
ADMIN_MENU = [
    ("admin.dashboard", "Dashboard", Action.ACCESS_ADMIN),
    ("admin.posts", "Posts", Action.CREATE_POST),
    ("admin.media_library", "Media", Action.UPLOAD_MEDIA),
    ("admin.pages_list", "Pages", Action.MANAGE_CATEGORIES),
    ("moderation.queue", "Comments", Action.MODERATE),
    ("admin.categories", "Categories", Action.MANAGE_CATEGORIES),
    ("admin.users", "Users", Action.MANAGE_USERS),
    ("admin.settings", "Settings", Action.MANAGE_SETTINGS),
]


def admin_menu() -> list[tuple[str, str]]:
    user = signed_in_user()
    return [
        (endpoint, label)
        for endpoint, label, action in ADMIN_MENU
        if endpoint in current_app.view_functions and can(user, action)
    ]
