"""For the operator's monitoring: ``/healthz``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from blog.web.health import OK, database_status, redis_status

bp = Blueprint("operations", __name__)


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 otherwise; Redis is reported, never decisive (the
    site works without it). Nothing else: no versions, addresses or secrets; never cached."""
    database = database_status()
    report = {"database": database, "redis": redis_status(current_app.config.get("REDIS_URL"))}
    response = jsonify(report)
    response.cache_control.no_store = True
    return response, 200 if database == OK else 503
