"""Error pages in the site's layout (JSON under /api), and a clean 503 when the database fails."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from blog.extensions import db

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


def render_error(code: int, message: str | None = None) -> tuple[str | Response, int]:
    title, default = MESSAGES.get(code, ("Error", "Something went wrong."))
    text = message or default
    if wants_json():
        body = {"error": {"code": title.lower().replace(" ", "_"), "message": text, "fields": {}}}
        return jsonify(body), code
    return render_template("error.html", code=code, title=title, message=text), code


def _http_error(error: HTTPException) -> tuple[str | Response, int] | HTTPException:
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


def _database_error(_error: OperationalError) -> tuple[str | Response, int]:
    db.session.rollback()
    response, code = render_error(503)
    return response, code


def _unexpected(_error: InternalServerError) -> tuple[str | Response, int]:
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(InternalServerError, _unexpected)
