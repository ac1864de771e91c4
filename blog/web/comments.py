"""Posting replies (SPEC section 5) and the one-click unsubscribe link of reply notifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from blog.comments import notifications
from blog.comments.edits import preview_comment
from blog.comments.pages import locate_comment
from blog.comments.submit import CommentForm, CommentRejected, Submitter, find_post, submit_comment
from blog.extensions import csrf_exempt, limiter, seconds_until_retry
from blog.models import Post
from blog.posts import reading as posts
from blog.settings import site_settings
from blog.web.access import protect_signed_in, signed_in_user
from blog.web.commenter import own_comment_ids, remember_own_comment, save_commenter_details
from blog.web.errors import render_error
from blog.web.origin import CrossOriginRefused
from blog.web.public import render_post

bp = Blueprint("comments", __name__)

FIELDS = (
    "body",
    "name",
    "email",
    "url",
    "parent_id",
    "remember",
    "notify_replies",
    "notify_approved",
)
# Beside the flood rule (one comment per address every 15 s, a setting kept in the database):
# a count per address that holds when the flood check is off, shared through Redis.
DEFAULT_COMMENT_RATE_LIMIT = "20 per minute;200 per hour"
TOO_MANY = (
    "You have sent a lot of comments from this address in a short time. Nothing is lost: wait a "
    "minute, then press Post Comment again."
)
SESSION_EXPIRED = (
    "Your session expired before your comment was sent, so it was not posted. Nothing is lost: "
    "check it below and press Post Comment again."
)


@dataclass(frozen=True)
class FormState:
    """What the reply form shows after a rejection: the typed values, and the messages."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    preview_html: str = ""  # "Preview": the comment as it would appear


def typed_values() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in FIELDS}


def _comment_rate_limit() -> str:
    return str(current_app.config.get("COMMENT_RATE_LIMIT") or DEFAULT_COMMENT_RATE_LIMIT)


@bp.route("/blog/<slug>/comments", methods=["POST"])
@limiter.limit(_comment_rate_limit, exempt_when=lambda: signed_in_user() is not None)
@csrf_exempt  # for anonymous readers only: protect_signed_in()
def submit(slug: str) -> Response | tuple[str | Response, int]:
    protect_signed_in()
    post = find_post(slug)
    if post is None:
        abort(404)
    values = typed_values()
    if request.form.get("preview"):
        return _preview(post, values)
    form = CommentForm(
        body=values["body"],
        name=values["name"],
        email=values["email"],
        url=values["url"],
        parent_id=values["parent_id"],
        website=request.form.get("website", ""),
        notify_replies=bool(values["notify_replies"]),
        notify_approved=bool(values["notify_approved"]),
    )
    user = signed_in_user()
    submitter = Submitter(user, request.remote_addr or "", request.user_agent.string)
    try:
        comment = submit_comment(post, form, submitter, site_settings())
    except CommentRejected as rejected:
        return _rejected(post, FormState(values, rejected.fields, rejected.message), rejected)
    own = [*own_comment_ids(), comment.id]
    location = locate_comment(comment.id, site_settings(), own)  # its comment page
    cpage = location.page_arg if location is not None else None
    target = url_for("public.post", slug=slug, cpage=cpage, _anchor=f"comment-{comment.id}")
    response = redirect(target, 303)
    remember_own_comment(response, comment.id)
    if user is None:
        save_commenter_details(response, values if values["remember"] else None)
    return response


def _preview(post: Post, values: dict[str, str]) -> Response:
    """The "Preview" button: the post page with the sanitized comment above the form and the
    typed text kept in it; nothing is stored (200, or 400 with the message if nothing shows)."""
    shown = preview_comment(values["body"])
    errors = {"body": shown.error} if shown.error else {}
    state = FormState(values, errors, shown.error, preview_html=shown.body_html)
    response = make_response(render_post(post, state), 400 if shown.error else 200)
    response.cache_control.no_store = True
    return response


def _rejected(
    post: Post, state: FormState, rejected: CommentRejected
) -> Response | tuple[str | Response, int]:
    """Closed posts get the error page (it shows the typed text back); the rest the post page
    with the form filled in as it was and a message beside each field."""
    if rejected.status_code == 404:
        abort(404)
    if rejected.status_code == 403:
        return render_error(403, rejected.message)
    response = make_response(render_post(post, state), rejected.status_code)
    if rejected.retry_after is not None:
        response.headers["Retry-After"] = str(rejected.retry_after)
    response.cache_control.no_store = True
    return response


def _form_again(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal before the form was read: the post page again with the typed comment in the
    form and ``message`` above it (or the error page, which shows the text too)."""
    slug = (request.view_args or {}).get("slug")
    post = None
    if request.endpoint == "comments.submit" and isinstance(slug, str):
        post = posts.get_published_post(slug)
    if post is None:
        response = make_response(render_error(status, message))
    else:
        state = FormState(typed_values(), message=message)
        response = make_response(render_post(post, state), status)
    response.headers.update(headers or {})
    response.cache_control.no_store = True
    return response


@bp.errorhandler(RateLimitExceeded)
def too_many(_error: RateLimitExceeded) -> Response:
    """Over the per-address limit: 429, the post page with the typed comment in the form."""
    return _form_again(429, TOO_MANY, {"Retry-After": str(seconds_until_retry())})


@bp.errorhandler(CSRFError)
def session_expired(_error: CSRFError) -> Response:
    """A missing or expired CSRF token: the post page again, the typed comment in the form."""
    return _form_again(400, SESSION_EXPIRED)


@bp.errorhandler(CrossOriginRefused)
def cross_site(error: CrossOriginRefused) -> Response:
    """Sent from another site (blog.web.origin): 403, the post page with the typed comment."""
    return _form_again(403, str(error.description))


@bp.route("/comments/unsubscribe/<token>", methods=["GET", "POST"])
@csrf_exempt  # the signed token is the credential; mail clients POST it without a session
def unsubscribe(token: str) -> str | tuple[str | Response, int]:
    """GET asks for confirmation (mail scanners follow links); POST unsubscribes (RFC 8058)."""
    if request.method != "POST":
        email = notifications.read_unsubscribe_token(token)
    else:
        email = notifications.unsubscribe(token)
    if email is None:
        return render_error(404, "This unsubscribe link is not valid.")
    return render_template("unsubscribe.html", email=email, done=request.method == "POST")
