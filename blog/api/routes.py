"""The API on an app: the blueprint, with the routes of every view module, registered."""

from __future__ import annotations

from flask import Flask

from blog.api import comments, moderation, openapi, posts  # each registers its routes on bp
from blog.api.blueprint import bp
from blog.extensions import csrf

VIEW_MODULES = (comments, moderation, openapi, posts)


def init_app(app: Flask) -> None:
    """Register the API; it takes bearer tokens, never the session cookie, so no CSRF token."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
