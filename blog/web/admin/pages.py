"""The pages list and the new-page form (editing a page is the post form's, which shows a
parent select instead of categories and tags for a page). Pages are the site's own structure:
editors and admins manage them, as they manage categories."""

from __future__ import annotations

from flask import render_template, request
from werkzeug.wrappers import Response

from blog.models import PostKind, PostStatus
from blog.permissions import Action
from blog.posts import pages
from blog.web.access import require
from blog.web.admin.blueprint import bp
from blog.web.admin.posts import form_page, submit_form


@bp.route("/pages/")
@require(Action.MANAGE_CATEGORIES)
def pages_list() -> str:
    return render_template("admin/pages.html", rows=pages.page_rows())


@bp.route("/pages/new", methods=["GET", "POST"])
@require(Action.MANAGE_CATEGORIES)
def page_new() -> Response | tuple[str, int]:
    if request.method == "POST":
        return submit_form(None, PostKind.PAGE)
    values = {"status": PostStatus.DRAFT.value, "comments_open": "", "categories": []}
    return form_page(None, values, kind=PostKind.PAGE)
