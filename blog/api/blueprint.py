"""The API's blueprint at ``/api/v1``, with its error handlers and CORS headers; the view
modules register their routes on it."""

from __future__ import annotations

from flask import Blueprint

from blog.api import errors
from blog.api.http import add_cors_headers

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)
bp.after_request(add_cors_headers)
