"""The dashboard and the signed-in user's own profile and password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.accounts import users
from blog.comments.queue import count_label
from blog.models import CommentStatus
from blog.permissions import Action
from blog.posts.dashboards import dashboard as dashboard_data
from blog.web.access import require
from blog.web.admin.blueprint import SESSION_EXPIRED, actor, bp, csrf_expired
from blog.web.admin.forms import ChangePasswordForm, ProfileForm, first_errors
from blog.web.auth import csrf_failed, sign_in_again
from blog.web.memoized import post_state_counts


@bp.route("/")
@require(Action.ACCESS_ADMIN)
def dashboard() -> str:
    return render_template(
        "admin/dashboard.html",
        board=dashboard_data(actor(), post_state_counts),
        statuses=list(CommentStatus),
        count_label=count_label,
    )


def _profile_page(
    values: dict[str, str], errors: dict[str, str], message: str = "", status: int = 200
) -> tuple[str, int]:
    user = actor()
    page = render_template(
        "admin/profile.html",
        user=user,
        values=values,
        errors=errors,
        message=message,
    )
    return page, status


@bp.route("/profile/", methods=["GET", "POST"])
@require(Action.ACCESS_ADMIN)
def profile() -> Response | tuple[str, int]:
    user = actor()
    if request.method != "POST":
        return _profile_page({"display_name": user.display_name, "email": user.email}, {})
    form = ProfileForm()
    values = {name: request.form.get(name, "") for name in ("display_name", "email")}
    if not form.validate_on_submit():
        expired = csrf_failed(form) or csrf_expired()
        return _profile_page(values, first_errors(form), SESSION_EXPIRED if expired else "", 400)
    try:
        users.update_profile(user, form.display_name.data or "", form.email.data or "")
    except users.UserError as error:
        return _profile_page(values, {error.field or "form": error.message}, error.message, 400)
    flash("Profile updated.", "success")
    return redirect(url_for("admin.profile"), 303)


@bp.route("/profile/password", methods=["POST"])
@require(Action.ACCESS_ADMIN)
def change_password() -> Response | tuple[str, int]:
    user = actor()
    values = {"display_name": user.display_name, "email": user.email}
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _profile_page(values, {}, "Your session expired; nothing was changed.", 400)
    new = form.new_password.data or ""
    if new != (form.confirm_password.data or ""):
        errors = {"confirm_password": "The two new passwords are not the same."}
        return _profile_page(values, errors, "Your password was not changed.", 400)
    try:
        changed = users.change_own_password(user, form.current_password.data or "", new)
    except users.UserError as error:
        errors = {error.field or "form": error.message}
        return _profile_page(values, errors, "Your password was not changed.", 400)
    sign_in_again(changed)
    flash("Password changed. Every other session of your account has ended.", "success")
    return redirect(url_for("admin.profile"), 303)
