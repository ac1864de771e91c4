"""The JSON API v1 (SPEC section 8), one blueprint at ``/api/v1``.

Modules: ``posts`` (reading and writing posts), ``comments`` (a post's thread, posting a reply,
counts), ``moderation`` (the queue with a token), ``openapi`` (the description), ``schemas``
(the JSON shapes), ``inputs`` (parsing requests), ``http`` (tokens, caching, CORS), ``errors``.
Views parse, authorize and call the same domain functions the HTML side calls.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from blog.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The views register themselves on ``bp`` when imported; handlers are set up once, here.
from blog.api import comments, errors, moderation, openapi, posts  # noqa: E402
from blog.api.http import add_cors_headers  # noqa: E402

errors.register(bp)
bp.after_request(add_cors_headers)

__all__ = ["bp", "comments", "init_app", "moderation", "openapi", "posts"]


def init_app(app: Flask) -> None:
    """Register the API; it takes bearer tokens, never the session cookie, so no CSRF token."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
