"""The media library's pages: the list with thumbnails and an upload form, a file's page (alt
text, its Markdown, the posts that use it) and deleting with a warning when posts use it.

The upload view answers JSON to the post form's script (static/media.js) and a page to a form
sent without it; either way the rules are blog.posts.media's.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.models import Media, Post
from blog.permissions import Action, can
from blog.posts import media
from blog.posts.images import MediaRejected
from blog.posts.reading import PageNotFound, parse_page
from blog.web.access import require, signed_in_user
from blog.web.admin.blueprint import ID, actor, bp
from blog.web.admin.forms import ActionForm

NO_FILE = "Choose an image file (JPEG, PNG, WebP or GIF) to upload."


def _load(media_id: int) -> Media:
    found = media.get_media(media_id)
    if found is None:
        abort(404)
    if not can(signed_in_user(), Action.MANAGE_MEDIA, found):
        abort(403)
    return found


def _library(message: str = "", status: int = 200, values: dict[str, str] | None = None) -> Any:
    try:
        page = parse_page(request.args.get("page"))
    except PageNotFound:
        abort(404)
    rows, total = media.media_list(actor(), page)
    if page > 1 and not rows:
        abort(404)
    listing = {
        "rows": rows,
        "thumbnails": {item.id: media.url_of(item, media.thumbnail_key(item)) for item in rows},
        "total": total,
        "page": page,
        "pages": max(1, -(-total // media.PER_PAGE)),
    }
    page_html = render_template(
        "admin/media.html",
        listing=listing,
        message=message,
        values=values or {},
        limits=media.limits(),
    )
    return page_html, status


@bp.route("/media/")
@require(Action.UPLOAD_MEDIA)
def media_library() -> Any:
    return _library()


def upload_from_request() -> media.Uploaded:
    """The file of the request's ``file`` field, stored as the signed-in user."""
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise MediaRejected(NO_FILE)
    return media.upload(actor(), sent.stream, sent.filename, request.form.get("alt_text", ""))


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@bp.route("/media/upload", methods=["POST"])
@require(Action.UPLOAD_MEDIA)
def media_upload() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400, "Your session expired, so nothing was uploaded. Please try again.")
    try:
        uploaded = upload_from_request()
    except MediaRejected as rejected:
        if _wants_json():
            return jsonify(error=rejected.message), rejected.status_code
        values = {"alt_text": request.form.get("alt_text", "")}
        return _library(rejected.message, rejected.status_code, values)
    if _wants_json():
        return jsonify(_described(uploaded)), 201
    flash(f"“{uploaded.media.original_name}” was uploaded.", "success")
    for warning in uploaded.warnings:
        flash(warning, "warning")
    return redirect(url_for("admin.media_edit", media_id=uploaded.media.id), 303)


def _described(uploaded: media.Uploaded) -> dict[str, Any]:
    item = uploaded.media
    return {
        "id": item.id,
        "url": media.url_of(item),
        "markdown": media.markdown_for(item),
        "alt_text": item.alt_text,
        "width": item.width,
        "height": item.height,
        "warnings": uploaded.warnings,
    }


def _posts_shown(used_by: list[Post]) -> tuple[list[Post], int]:
    """The posts using a file that this user may open, and how many others there are (an
    author is not told the titles of other authors' drafts)."""
    user = signed_in_user()
    mine = [post for post in used_by if can(user, Action.EDIT_POST, post)]
    return mine, len(used_by) - len(mine)


@bp.route(f"/media/<{ID}:media_id>", methods=["GET", "POST"])
@require(Action.UPLOAD_MEDIA)
def media_edit(media_id: int) -> Response | str:
    item = _load(media_id)
    if request.method == "POST" and ActionForm().validate_on_submit():
        media.set_alt_text(actor(), item, request.form.get("alt_text", ""))
        flash("Alternative text saved.", "success")
        return redirect(url_for("admin.media_edit", media_id=item.id), 303)
    used_by, others = _posts_shown(media.posts_using(item))
    return render_template(
        "admin/media_edit.html",
        item=item,
        url=media.url_of(item),
        markdown=media.markdown_for(item),
        used_by=used_by,
        others=others,
        no_alt_warning=media.NO_ALT_WARNING,
    )


@bp.route(f"/media/<{ID}:media_id>/delete", methods=["GET", "POST"])
@require(Action.UPLOAD_MEDIA)
def media_delete(media_id: int) -> Response | str:
    """GET asks "are you sure?" and names the posts that show the file; POST deletes."""
    item = _load(media_id)
    if request.method != "POST" or not ActionForm().validate_on_submit():
        used_by, others = _posts_shown(media.posts_using(item))
        return render_template("admin/media_delete.html", item=item, used_by=used_by, others=others)
    name = item.original_name or item.key
    media.delete_media(actor(), item)
    flash(f"“{name}” was deleted.", "success")
    return redirect(url_for("admin.media_library"), 303)
