"""Where rendered public pages are kept: in each worker (an LRU), or in Redis for all workers."""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app

from blog.cache.lru import LRU
from blog.config import REDIS_TIMEOUT

try:
    import redis
except ImportError:  # an optional dependency (the production extra): then no RedisPageStore
    redis = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_EXTENSION = "blog_page_store"


# The page store earns its keep without a proxy in front (python -m bench --duration 4, SQLite,
# gunicorn -w 2 sync, a shared 2-core machine at load 8, 2026-12-07): the post page with 50
# comments at 705 req/s with it, 22 req/s without it (--no-page-cache), the bare route at 1,207
# and 1,282; the home page 578 against 211. Behind nginx (deploy/) the shared cache answers most
# cookieless readers itself; the store still spares a render per worker after each content change
# and for every request nginx passes on (docs/caching.md).
class MemoryPageStore(LRU[str, bytes]):
    """A small LRU of rendered pages inside one worker process."""


class RedisPageStore:
    """Rendered pages shared by every worker through Redis; a Redis failure is a cache miss.

    When Redis fails (down, or too slow to answer within the timeout) the store is skipped for
    ``retry_seconds``, so that pages are rendered without waiting on Redis; one warning is logged
    per outage.
    """

    def __init__(self, url: str, ttl_seconds: int = 3600, retry_seconds: float = 30.0) -> None:
        if redis is None:
            raise RuntimeError("BLOG_REDIS_URL is set but the redis package is not installed")
        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self.ttl = ttl_seconds
        self.retry_seconds = retry_seconds
        self.skip_until: float | None = None  # set while Redis is considered down

    def get(self, key: str) -> bytes | None:
        if self._skipping():
            return None
        try:
            raw = self.client.get(f"blog:page:{key}")
        except Exception as error:  # the cache is an optimisation: never fail a page for it
            self._failed(error)
            return None
        self._answered()
        return raw if isinstance(raw, bytes) else None

    def set(self, key: str, page: bytes) -> None:
        if self._skipping():
            return
        try:
            self.client.setex(f"blog:page:{key}", self.ttl, page)
        except Exception as error:
            self._failed(error)

    def _skipping(self) -> bool:
        return self.skip_until is not None and time.monotonic() < self.skip_until

    def _failed(self, error: Exception) -> None:
        if self.skip_until is None:
            log.warning(
                "Redis page cache unreachable (%s): pages are rendered without it, "
                "retrying every %.0f s",
                error,
                self.retry_seconds,
            )
        self.skip_until = time.monotonic() + self.retry_seconds

    def _answered(self) -> None:
        if self.skip_until is not None:
            log.info("Redis page cache reachable again")
            self.skip_until = None


PageStore = MemoryPageStore | RedisPageStore


def page_store() -> PageStore | None:
    """This app's page store; None when PAGE_CACHE is off."""
    return current_app.extensions.get(_EXTENSION)


def init_app(app: Flask) -> None:
    if not app.config.get("PAGE_CACHE", True):
        return
    redis_url = app.config.get("REDIS_URL")
    store: PageStore
    if redis_url:
        store = RedisPageStore(redis_url)
    else:
        store = MemoryPageStore(int(app.config.get("PAGE_CACHE_ENTRIES", 512)))
    app.extensions[_EXTENSION] = store
