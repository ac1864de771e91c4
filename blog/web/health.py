"""What ``/healthz`` reports: can this app host reach its database and its Redis?"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from blog.extensions import db

try:
    import redis
except ImportError:  # an optional dependency (the production extra)
    redis = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

OK, ERROR, NOT_CONFIGURED = "ok", "error", "not configured"


def database_status() -> str:
    """ "ok" when the database answers a query, else "error" (the reason is logged)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("health check: the database did not answer: %s", error)
        return ERROR
    finally:
        db.session.rollback()
    return OK


def redis_status(url: str | None, timeout: float = 1.0) -> str:
    """ "ok" when Redis answers PING, "not configured" without a URL, else "error"."""
    if not url:
        return NOT_CONFIGURED
    if redis is None:
        log.warning("health check: BLOG_REDIS_URL is set but the redis package is missing")
        return ERROR
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as error:
        log.warning("health check: Redis did not answer: %s", error)
        return ERROR
    finally:
        client.close()
    return OK
