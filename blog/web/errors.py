"""Error pages in the site's layout (JSON under /api), and a clean 503 when the database fails."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask.globals import request_ctx
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from blog.api.errors import json_error
from blog.extensions import db, login_manager
from blog.settings import assume_defaults
from blog.web.request_log import current_request_id

log = logging.getLogger("blog.request")

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "You do not have permission to see this page."),
    404: ("Page not found", "Sorry, nothing lives at this address."),
    405: ("Method not allowed", "That action is not possible on this page."),
    409: ("Conflict", "That has been done already."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "Please slow down and try again in a moment."),
    503: ("Temporarily unavailable", "The site is busy or under maintenance. Try again shortly."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def typed_comment() -> str:
    """The comment text a failed POST carried, to show it back so that it is never lost."""
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return ""
    try:
        return request.form.get("body", "")[:70_000]
    except Exception:  # a body that cannot be parsed has nothing to give back
        return ""


def render_error(code: int, message: str | None = None) -> tuple[str | Response, int]:
    title, default = MESSAGES.get(code, ("Error", "Something went wrong."))
    text = message or default
    if wants_json():
        return json_error(code, message)
    if request_ctx.url_adapter is None:
        # The Host header is no host name (say "a..b"): no link of the layout can be built, so
        # the page is a bare one, with the typed comment all the same.
        typed = typed_comment()
        kept = f"<p>Your comment:</p><pre>{escape(typed)}</pre>" if typed else ""
        bare = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        return Response(f"{bare}<p>{escape(text)}</p>{kept}", mimetype="text/html"), code
    g.blog_error_page = True  # the admin bar leaves out its count (blog.web.admin_bar)
    page = render_template(
        "error.html", code=code, title=title, message=text, typed_comment=typed_comment()
    )
    return page, code


def http_error(error: HTTPException) -> tuple[str | Response, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    message = error.description if error.code not in MESSAGES else None
    response, code = render_error(error.code, message)
    if isinstance(response, str):
        response = Response(response, status=code, mimetype="text/html")
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    retry = getattr(error, "retry_after", None)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response, code


def _database_error(error: OperationalError) -> Response:
    """The database is locked or gone: a 503 that asks the reader to retry, never a 500."""
    log.warning("503: the database failed, id=%s", current_request_id(), exc_info=error)
    db.session.rollback()
    # The page must render without the database: default settings, no user, no sidebar.
    assume_defaults()
    g._login_user = login_manager.anonymous_user()
    g.blog_database_down = True
    body, code = render_error(503)
    response = body if isinstance(body, Response) else Response(body, mimetype="text/html")
    response.status_code = code
    response.headers["Retry-After"] = "5"
    return response


def _unexpected(error: InternalServerError) -> tuple[str | Response, int]:
    cause = error.original_exception or error
    log.error("500: unexpected error, id=%s", current_request_id(), exc_info=cause)
    return render_error(500)


def _refuse_nul_bytes() -> tuple[str | Response, int] | None:
    """NUL cannot be stored or looked up (PostgreSQL refuses it in text): answer before it
    reaches a query. A path with NUL names nothing; a query string with NUL is malformed."""
    if "\x00" in request.path:
        return render_error(404)
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return render_error(400, "The address contains a character that is not allowed.")
    return None


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul_bytes)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(InternalServerError, _unexpected)
