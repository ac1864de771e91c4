"""What readers do with comments besides posting one: permalinks, pictures, instant preview,
editing and deleting their own, reporting, confirming their address.

Forms need no JavaScript; ``static/comments.js`` only makes the preview instant. Every change is
a POST with a CSRF token, except the confirmation link's, whose signed token is the credential
(as the unsubscribe link's).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from blog.comments.avatars import avatar_url, identicon_svg
from blog.comments.confirmation import ConfirmationError, comment_to_confirm, confirm_comment
from blog.comments.edits import (
    delete_own_comment,
    edit_deadline,
    edit_own_comment,
    own_comment,
    preview_comment,
)
from blog.comments.pages import comment_badge, locate_comment
from blog.comments.recent import recent_comments
from blog.comments.reports import REASONS, ReportRejected, report_comment, reportable
from blog.comments.submit import MAX_ID, CommentRejected, find_post
from blog.extensions import csrf_exempt, limiter
from blog.models import Comment
from blog.settings import site_settings
from blog.web.access import protect_signed_in, signed_in_user
from blog.web.commenter import forget_own_comment, own_comment_ids, remember_own_comment
from blog.web.errors import render_error
from blog.web.origin import CrossOriginRefused

bp = Blueprint("reader", __name__)

COMMENT = f"/comments/<int(max={MAX_ID}):comment_id>"
AVATAR_MAX_AGE = 365 * 24 * 3600
DEFAULT_REPORT_RATE_LIMIT = "5 per minute;20 per hour"
# Each edit keeps a revision: enough for second thoughts, not for filling the database.
DEFAULT_EDIT_RATE_LIMIT = "10 per minute;60 per hour"


def _comment_url(slug: str, comment_id: int, page: int | None) -> str:
    return url_for("public.post", slug=slug, cpage=page, _anchor=f"comment-{comment_id}")


@bp.route(COMMENT)
def permalink(comment_id: int) -> Response:
    """``/comments/<id>``: 302 to the comment on its comment page; 404 unless it is approved
    (or held, for the browser that wrote it)."""
    found = locate_comment(comment_id, site_settings(), own_comment_ids())
    if found is None:
        abort(404)
    return redirect(_comment_url(found.slug, comment_id, found.page), 302)


@bp.route("/avatar/<key>.svg")
def identicon(key: str) -> Response:
    """A commenter's picture, drawn from the key alone: no database, cached for a year."""
    try:
        svg = identicon_svg(key)
    except ValueError:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = AVATAR_MAX_AGE
    response.cache_control.immutable = True
    return response


@bp.route("/blog/<slug>/comments/preview", methods=["POST"])
@csrf_exempt  # as the reply form: a token for signed-in users only (protect_signed_in)
def preview(slug: str) -> Response | tuple[Response, int]:
    """The sanitized comment as JSON, for the instant preview (the form's own Preview button
    does the same without JavaScript). Protected like the form; nothing is stored."""
    protect_signed_in()
    if find_post(slug) is None:
        abort(404)
    shown = preview_comment(request.form.get("body", ""))
    if shown.error:
        return jsonify({"error": shown.error}), 400
    response = jsonify({"html": shown.body_html})
    response.cache_control.no_store = True
    return response


# --- Editing and deleting one's own comment ---------------------------------------------------


def _personal(page: str, status: int) -> Response:
    """A page of one reader's own (their comment's text, their form): no shared cache keeps it."""
    response = make_response(page, status)
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def _edit_rate_limit() -> str:
    return str(current_app.config.get("EDIT_RATE_LIMIT") or DEFAULT_EDIT_RATE_LIMIT)


def _render_edit(
    comment: Comment, body: str, status: int = 200, error: str = "", preview_html: str = ""
) -> Response:
    page = render_template(
        "comment_edit.html",
        comment=comment,
        body=body,
        error=error,
        preview_html=preview_html,
        deadline=edit_deadline(comment, site_settings()),
    )
    return _personal(page, status)


@bp.errorhandler(CommentRejected)
def _refused(rejected: CommentRejected) -> tuple[str | Response, int]:
    """Not this browser's comment (404) or too late (403): an error page that shows the typed
    text back, so that nothing typed is lost."""
    return render_error(rejected.status_code, rejected.message)


@bp.errorhandler(CrossOriginRefused)
def _cross_site(error: CrossOriginRefused) -> Response | tuple[str | Response, int]:
    """Sent from another site (blog.web.origin): 403; an edit comes back in its form, the rest as
    the error page, which shows the typed text too."""
    comment_id = (request.view_args or {}).get("comment_id")
    if request.endpoint == "reader.edit" and isinstance(comment_id, int):
        try:
            comment = _own(comment_id)
        except CommentRejected as rejected:
            return render_error(rejected.status_code, rejected.message)
        return _render_edit(comment, request.form.get("body", ""), 403, str(error.description))
    return render_error(403, error.description)


def _own(comment_id: int) -> Comment:
    return own_comment(comment_id, own_comment_ids(), site_settings())


@bp.route(f"{COMMENT}/edit")
def edit_form(comment_id: int) -> Response:
    comment = _own(comment_id)
    return _render_edit(comment, comment.body_source)


@bp.route(f"{COMMENT}/edit", methods=["POST"])
@limiter.limit(_edit_rate_limit, methods=["POST"])
def edit(comment_id: int) -> Response:
    comment = _own(comment_id)
    body = request.form.get("body", "")
    if request.form.get("preview"):
        shown = preview_comment(body)
        return _render_edit(
            comment, body, 400 if shown.error else 200, shown.error, shown.body_html
        )
    try:
        edited = edit_own_comment(
            comment_id, body, own_comment_ids(), site_settings(), signed_in_user()
        )
    except CommentRejected as rejected:
        if rejected.status_code in (403, 404):
            raise
        return _render_edit(comment, body, rejected.status_code, rejected.message)
    return redirect(_comment_url(edited.post.slug, comment_id, _page_of(comment_id)), 303)


@bp.route(f"{COMMENT}/delete", methods=["POST"])
@limiter.limit(_edit_rate_limit, methods=["POST"])
def delete(comment_id: int) -> Response:
    comment = _own(comment_id)
    slug = comment.post.slug
    done = delete_own_comment(comment_id, own_comment_ids(), site_settings(), signed_in_user())
    anchor = f"comment-{comment_id}" if done.kept else "comments"
    response = redirect(url_for("public.post", slug=slug, _anchor=anchor), 303)
    if not done.kept:
        forget_own_comment(response, comment_id)
    return response


def _page_of(comment_id: int) -> int | None:
    found = locate_comment(comment_id, site_settings(), own_comment_ids())
    return found.page_arg if found is not None else None


# --- Reports ---------------------------------------------------------------------------------


def _report_rate_limit() -> str:
    return str(current_app.config.get("REPORT_RATE_LIMIT") or DEFAULT_REPORT_RATE_LIMIT)


def _render_report(
    comment: Comment,
    values: dict[str, str],
    status: int = 200,
    rejected: ReportRejected | None = None,
) -> Response:
    page = render_template(
        "comment_report.html",
        comment=comment,
        reasons=REASONS,
        values=values,
        errors=rejected.fields if rejected else {},
        message=rejected.message if rejected else "",
        done=False,
    )
    return _personal(page, status)


@bp.route(f"{COMMENT}/report")
def report_form(comment_id: int) -> Response:
    comment = reportable(comment_id)
    if comment is None:
        abort(404)
    return _render_report(comment, {"reason": "", "details": ""})


@bp.route(f"{COMMENT}/report", methods=["POST"])
@limiter.limit(_report_rate_limit, methods=["POST"])
def report(comment_id: int) -> Response:
    comment = reportable(comment_id)
    if comment is None:
        abort(404)
    values = {name: request.form.get(name, "") for name in ("reason", "details")}
    try:
        report_comment(
            comment_id,
            values["reason"],
            values["details"],
            request.remote_addr or "",
            site_settings(),
        )
    except ReportRejected as rejected:
        if rejected.status_code == 404:
            abort(404)
        return _render_report(comment, values, rejected.status_code, rejected)
    return _personal(render_template("comment_report.html", comment=comment, done=True), 200)


# --- Confirming one's address ----------------------------------------------------------------


@bp.route("/comments/confirm/<token>", methods=["GET", "POST"])
@csrf_exempt  # the signed token is the credential, as for unsubscribing
def confirm(token: str) -> Response | tuple[str | Response, int]:
    """GET asks (mail scanners follow links and must not confirm); POST confirms."""
    try:
        if request.method != "POST":
            comment = comment_to_confirm(token)
            page = render_template("comment_confirm.html", comment=comment, token=token)
            return make_response(page), 200
        done = confirm_comment(token, site_settings())
    except ConfirmationError as error:
        return render_error(error.status_code, error.message)
    comment = done.comment
    location = locate_comment(comment.id, site_settings(), [comment.id])
    slug = location.slug if location is not None else comment.post.slug
    page_arg = location.page_arg if location is not None else None
    response = redirect(_comment_url(slug, comment.id, page_arg), 303)
    remember_own_comment(response, comment.id)  # this browser now sees it while it is held
    return response


# --- For the templates -----------------------------------------------------------------------


@bp.app_template_global("comment_avatar")
def comment_avatar(comment: Comment) -> str:
    return avatar_url(comment, site_settings())


bp.add_app_template_global(comment_badge, "comment_badge")
bp.add_app_template_global(recent_comments, "recent_comments")
