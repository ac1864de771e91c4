"""The settings page: site title, tagline and every discussion setting."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.permissions import Action
from blog.settings import load_settings
from blog.settings_admin import (
    FIELDS,
    GROUPS,
    SettingsRejected,
    form_values,
    timezone_choices,
    update_settings,
)
from blog.web.access import require
from blog.web.admin.blueprint import SESSION_EXPIRED, actor, bp, csrf_expired
from blog.web.admin.forms import ActionForm


def _page(
    values: dict[str, str], errors: dict[str, str], message: str = "", status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin/settings.html",
        groups=GROUPS,
        values=values,
        errors=errors,
        message=message,
        zones=timezone_choices(),
    )
    return page, status


@bp.route("/settings/", methods=["GET", "POST"])
@require(Action.MANAGE_SETTINGS)
def settings() -> Response | tuple[str, int]:
    if request.method != "POST":
        return _page(form_values(load_settings()), {})
    typed = {name: request.form.get(name, "") for name in FIELDS}
    if not ActionForm().validate_on_submit() or csrf_expired():
        return _page(typed, {}, SESSION_EXPIRED, 400)
    try:
        update_settings(actor(), typed)
    except SettingsRejected as rejected:
        return _page(typed, rejected.fields, rejected.message, 400)
    flash("Settings saved.", "success")
    return redirect(url_for("admin.settings"), 303)
