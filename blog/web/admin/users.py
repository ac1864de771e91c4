"""Users (admins only): list, create, edit and change role, reset password, deactivate."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.accounts import users as domain
from blog.models import Role, User
from blog.permissions import Action
from blog.web.access import require
from blog.web.admin.blueprint import ID, SESSION_EXPIRED, actor, bp, csrf_expired
from blog.web.admin.forms import (
    ActionForm,
    EditUserForm,
    NewUserForm,
    ResetPasswordForm,
    first_errors,
)
from blog.web.auth import csrf_failed

ROLE_MESSAGE = "Choose a role from the list."


@bp.route("/users/")
@require(Action.MANAGE_USERS)
def users() -> str:
    return render_template("admin/users.html", rows=domain.list_users())


def _new_page(
    values: dict[str, Any], errors: dict[str, str], message: str = "", status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin/user_new.html", values=values, errors=errors, message=message, roles=list(Role)
    )
    return page, status


@bp.route("/users/new", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def user_new() -> Response | tuple[str, int]:
    if request.method != "POST":
        return _new_page({"role": Role.AUTHOR.value}, {})
    form = NewUserForm()
    typed = {n: request.form.get(n, "") for n in ("username", "display_name", "email", "role")}
    if not form.validate_on_submit():
        if csrf_failed(form) or csrf_expired():
            return _new_page(typed, {}, SESSION_EXPIRED, 400)
        errors = first_errors(form)
        errors = {n: ROLE_MESSAGE if n == "role" else m for n, m in errors.items()}
        return _new_page(typed, errors, "The user was not created.", 400)
    try:
        created = domain.create_user(
            form.username.data or "",
            form.password.data or "",
            form.role.data or "",
            form.display_name.data or "",
            form.email.data or "",
        )
    except domain.UserError as error:
        errors = {error.field or "form": error.message}
        return _new_page(typed, errors, "The user was not created.", 400)
    flash(f"User {created.username} created.", "success")
    return redirect(url_for("admin.user_edit", user_id=created.id), 303)


def _user(user_id: int) -> User:
    found = domain.find_user(user_id)
    if found is None:
        abort(404)
    return found


def _edit_page(
    user: User,
    values: dict[str, Any],
    errors: dict[str, str],
    message: str = "",
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "admin/user_edit.html",
        user=user,
        values=values,
        errors=errors,
        message=message,
        roles=list(Role),
        is_self=user.id == actor().id,
    )
    return page, status


def _stored(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "slug": user.slug,
        "email": user.email,
        "role": user.role.value,
    }


@bp.route(f"/users/<{ID}:user_id>/", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def user_edit(user_id: int) -> Response | tuple[str, int]:
    """GET shows the account; POST saves its name, email and role (together, or not at all)."""
    user = _user(user_id)
    if request.method != "POST":
        return _edit_page(user, _stored(user), {})
    form = EditUserForm()
    typed = {n: request.form.get(n, "") for n in ("display_name", "slug", "email", "role")}
    if not form.validate_on_submit():
        if csrf_failed(form) or csrf_expired():
            return _edit_page(user, typed, {}, SESSION_EXPIRED, 400)
        errors = {n: ROLE_MESSAGE if n == "role" else m for n, m in first_errors(form).items()}
        return _edit_page(user, typed, errors, "Nothing was changed.", 400)
    try:
        domain.save_account(
            actor(),
            user,
            form.display_name.data or "",
            form.email.data or "",
            form.role.data or "",
            request.form.get("slug"),  # absent: the slug stays as it is
        )
    except domain.UserError as error:
        errors = {error.field or "form": error.message}
        return _edit_page(user, typed, errors, "Nothing was changed.", 400)
    flash("User updated.", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id), 303)


@bp.route(f"/users/<{ID}:user_id>/password", methods=["POST"])
@require(Action.MANAGE_USERS)
def user_password(user_id: int) -> Response | tuple[str, int]:
    """Reset another user's password; every session of theirs ends."""
    user = _user(user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _edit_page(user, _stored(user), {}, SESSION_EXPIRED, 400)
    try:
        domain.set_password(user, form.password.data or "")
    except domain.UserError as error:
        return _edit_page(user, _stored(user), {"password": error.message}, error.message, 400)
    flash(f"Password of {user.username} reset; their sessions have ended.", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id), 303)


def _set_active(user_id: int, active: bool) -> Response | tuple[str, int]:
    user = _user(user_id)
    if not ActionForm().validate_on_submit():
        return _edit_page(user, _stored(user), {}, SESSION_EXPIRED, 400)
    try:
        changed = domain.set_active(actor(), user, active)
    except domain.UserError as error:
        return _edit_page(user, _stored(user), {}, error.message, 409)
    if active:
        flash(f"{changed.username} can sign in again.", "success")
    else:
        flash(f"{changed.username} was deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id), 303)


@bp.route(f"/users/<{ID}:user_id>/deactivate", methods=["POST"])
@require(Action.MANAGE_USERS)
def user_deactivate(user_id: int) -> Response | tuple[str, int]:
    return _set_active(user_id, False)


@bp.route(f"/users/<{ID}:user_id>/activate", methods=["POST"])
@require(Action.MANAGE_USERS)
def user_activate(user_id: int) -> Response | tuple[str, int]:
    return _set_active(user_id, True)
