"""The admin's blueprint and what its views share: the signed-in actor, ids from the query
string, the forms that come back filled in after a stale token or a cross-site post.

Every view sits behind :func:`blog.web.access.require` (anonymous: to the sign-in page; no
right: 403) and leaves object-level checks to the domain functions, which raise NotAllowed.
Admin pages are never cached and never framed.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, make_response, request
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from blog.models import User
from blog.permissions import NotAllowed
from blog.web.access import signed_in_user
from blog.web.errors import render_error
from blog.web.origin import REFUSED, CrossOriginRefused

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_ID = 2**31 - 1
ID = f"int(max={MAX_ID})"
SESSION_EXPIRED = (
    "Your session expired before the form was sent, so nothing was saved. "
    "What you typed is still below: send it again."
)
# Forms that come back with what was typed when their CSRF token is missing or stale.
FORM_ENDPOINTS = {
    "admin.post_new",
    "admin.post_edit",
    "admin.page_new",
    "admin.categories",
    "admin.category_edit",
    "admin.user_new",
    "admin.user_edit",
    "admin.settings",
    "admin.profile",
}


def actor() -> User:
    """The signed-in user (every admin view is behind require())."""
    user = signed_in_user()
    if user is None:
        abort(401)
    return user


def parse_id(raw: str | None, what: str) -> int | None:
    """A filter's id from the query string: empty is none, garbage is a 400."""
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    abort(400, f"The {what} must be given by its number.")


# The forms that come back filled in, 403, when sent from another site (blog.web.origin).
CROSS_SITE_FORM_ENDPOINTS = {"admin.post_new", "admin.post_edit", "admin.page_new"}


def csrf_expired() -> bool:
    return bool(g.get("blog_csrf_expired"))


def form_refusal() -> str:
    """Why a form came back unsaved without a word about its fields: sent from another site,
    or its session expired."""
    return REFUSED if g.get("blog_cross_site") else SESSION_EXPIRED


@bp.errorhandler(CrossOriginRefused)
def _cross_site(error: CrossOriginRefused) -> Response | tuple[str | Response, int]:
    """Sent from another site: the post form again with what was typed, 403 (the view sees
    the form as invalid and saves nothing); anything else the 403 page."""
    if request.endpoint in CROSS_SITE_FORM_ENDPOINTS:
        g.blog_csrf_expired = g.blog_cross_site = True
        view = current_app.view_functions[request.endpoint]
        response = make_response(view(**(request.view_args or {})))
        if response.status_code == 400:
            response.status_code = 403
        return response
    return render_error(403, error.description)


@bp.errorhandler(CSRFError)
def _session_expired(_error: CSRFError) -> Response | tuple[str | Response, int]:
    """A stale token on a form: the form again with what was typed (the view sees the form as
    invalid and saves nothing). On a button: a 400 page that says what happened."""
    if request.endpoint in FORM_ENDPOINTS:
        g.blog_csrf_expired = True
        view = current_app.view_functions[request.endpoint]
        return make_response(view(**(request.view_args or {})))
    return render_error(400, "Your session expired, so nothing was changed. Please try again.")


@bp.errorhandler(NotAllowed)
def _not_allowed(error: NotAllowed) -> tuple[str | Response, int]:
    return render_error(403, error.message)


@bp.after_request
def _private(response: Response) -> Response:
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response
