"""A post's revisions in the admin: the list, a comparison of two, and restoring one.

Whoever may edit the post may see its revisions and restore one (a POST with the CSRF token);
restoring is a save, so it goes through blog.posts.authoring like the form.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.extensions import db
from blog.models import Post
from blog.permissions import Action
from blog.posts import revisions
from blog.posts.authoring import PostRejected
from blog.posts.reading import PageNotFound, parse_page
from blog.web.access import authorize, require
from blog.web.admin.blueprint import ID, actor, bp, parse_id
from blog.web.admin.forms import ActionForm
from blog.web.templating import format_time


def _editable(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        abort(404)
    authorize(Action.EDIT_POST, post)
    return post


@bp.route(f"/posts/<{ID}:post_id>/revisions/")
@require(Action.CREATE_POST)
def post_revisions(post_id: int) -> str:
    post = _editable(post_id)
    try:
        listing = revisions.revisions_of(post, parse_page(request.args.get("page")))
    except PageNotFound:
        abort(404)
    return render_template("admin/post_revisions.html", post=post, listing=listing)


@bp.route(f"/posts/<{ID}:post_id>/revisions/compare")
@require(Action.CREATE_POST)
def post_revision_compare(post_id: int) -> str:
    """``?to=`` a revision (the newest when absent), ``?from=`` another (the one saved just
    before ``to`` when absent)."""
    post = _editable(post_id)
    newest_id = revisions.newest_revision_id(post)
    if newest_id is None:
        abort(404)
    newer_id = parse_id(request.args.get("to"), "revision") or newest_id
    older_id = parse_id(request.args.get("from"), "revision")
    if older_id is None:
        older_id = revisions.previous_revision_id(post, newer_id) or newer_id
    try:
        comparison = revisions.compare(post, older_id, newer_id)
    except revisions.RevisionNotFound:
        abort(404)
    return render_template(
        "admin/post_revision_compare.html",
        post=post,
        comparison=comparison,
        newest_id=newest_id,
    )


@bp.route(f"/posts/<{ID}:post_id>/revisions/<{ID}:revision_id>/restore", methods=["POST"])
@require(Action.CREATE_POST)
def post_revision_restore(post_id: int, revision_id: int) -> Response:
    post = _editable(post_id)
    if not ActionForm().validate_on_submit():
        abort(400, "Your session expired, so nothing was changed. Please try again.")
    try:
        revision = revisions.get_revision(post, revision_id)
        saved_at = revision.saved_at
        revisions.restore_revision(actor(), post, revision_id)
    except revisions.RevisionNotFound:
        abort(404)
    except PostRejected as rejected:
        flash(f"The revision was not restored: {rejected.message}", "error")
        return redirect(url_for("admin.post_revisions", post_id=post_id), 303)
    flash(f"Restored the revision of {format_time(saved_at)} (UTC).", "success")
    return redirect(url_for("admin.post_edit", post_id=post_id), 303)
