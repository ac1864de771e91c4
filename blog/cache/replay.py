"""Shared pages replayed in each worker: a cookieless GET or HEAD answered from the last public
answer for the same address, before Flask sees the request, for at most ``PAGE_REPLAY_SECONDS``.

A public page (``Cache-Control: public``, which blog.cache.conditional sets) is the same bytes for
every reader without cookies: that is what lets nginx or a CDN keep it (docs/caching.md). Without
such a cache in front, each worker keeps those answers itself, by a shared cache's rules:

- only a GET or HEAD with no ``Cookie``, no ``Authorization`` and no ``no-cache`` in the request;
- only a ``200`` marked ``public`` with a ``Content-Length``, no ``Set-Cookie`` and no ``Vary``
  beyond ``Cookie`` (the API's ``Vary: Origin`` answers are never kept);
- keyed by path and query, with ``SITE_URL`` when it is set, else with the scheme and host
  (absolute links follow them then);
- fresh for ``PAGE_REPLAY_SECONDS`` (1 s, well inside the ``s-maxage`` the page itself allows
  any cache) and only until this process commits a change to public content
  (blog.cache.tracking.writes_seen): a worker's own writes show at once, another worker's or
  host's within that second; never past the time a scheduled post comes due;
- ``If-None-Match`` and ``If-Modified-Since`` answered ``304``; ``Age`` added, as a cache does.

The request log (blog.web.request_log) sits outside it: a replayed answer gets its request id
and its log line like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.http import is_resource_modified, parse_date

from blog.cache import versions
from blog.cache.lru import LRU
from blog.cache.tracking import writes_seen

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# It earns its keep without a proxy in front (python -m bench --quick --size small --databases
# sqlite, gunicorn -w 2, a quiet 2-core machine, 2026-12-07): the post page with 50 comments at
# 7,105 and 7,479 req/s with it (1.02x and 0.99x the bare route), 3,722 without it (--no-replay,
# 0.50x); under gthread 9,005 and 9,046 (0.96x, 1.00x) against 3,515 (0.37x). docs/benchmark.md.
REPLAY_SECONDS = 1.0
MAX_ENTRIES = 256
MAX_PAGE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
# What a 304 repeats of the stored answer (RFC 9110 section 15.4.5).
NOT_MODIFIED_HEADERS = frozenset({"cache-control", "etag", "expires", "last-modified", "vary"})


@dataclass(frozen=True, slots=True)
class Entry:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    etag: str | None
    last_modified: datetime | None
    stored: float  # monotonic()
    generation: int  # writes_seen() when the render began
    until: datetime  # when a scheduled post comes due (versions.next_change())


def _keepable(status: str, headers: list[tuple[str, str]]) -> bool:
    """Whether an answer may be replayed to other cookieless readers."""
    if not status.startswith("200"):
        return False
    public = sized = False
    for name, value in headers:
        lower = name.lower()
        if lower == "cache-control":
            public = value.lstrip().lower().startswith("public")
        elif lower == "content-length":
            sized = value.isdigit() and int(value) <= MAX_PAGE_BYTES
        elif lower == "set-cookie" or (lower == "vary" and _varies_beyond_cookie(value)):
            return False
    return public and sized


def _varies_beyond_cookie(vary: str) -> bool:
    return bool({v.strip().lower() for v in vary.split(",")} - {"cookie"})


def _asks_fresh(environ: WSGIEnvironment) -> bool:
    """A reload (``Cache-Control: no-cache`` or ``max-age=0``, ``Pragma: no-cache``) goes to
    the app."""
    directives = environ.get("HTTP_CACHE_CONTROL", "") + environ.get("HTTP_PRAGMA", "")
    return "no-cache" in directives.lower() or "max-age=0" in directives.lower()


def _cannot_write(_data: bytes) -> None:
    raise RuntimeError("the page replay does not support the WSGI write() callable")


class PageReplay:
    """WSGI middleware around the Flask app; see the module's docstring."""

    def __init__(self, app: WSGIApplication, config: dict[str, Any], seconds: float) -> None:
        self.app = app
        self.config = config
        self.seconds = seconds
        self.entries: LRU[tuple[str, ...], Entry] = LRU(
            MAX_ENTRIES, MAX_TOTAL_BYTES, weigh=lambda entry: len(entry.body)
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (
            (method != "GET" and method != "HEAD")
            or "HTTP_COOKIE" in environ
            or "HTTP_AUTHORIZATION" in environ
            or _asks_fresh(environ)
        ):
            return self.app(environ, start_response)
        key = self._key(environ)
        generation = writes_seen()
        now = monotonic()
        entry = self.entries.get(key)
        if entry is not None and self._fresh(entry, generation, now):
            return self._answer(entry, environ, start_response, now)
        if method == "HEAD":
            return self.app(environ, start_response)
        return self._render(key, generation, now, environ, start_response)

    def _fresh(self, entry: Entry, generation: int, now: float) -> bool:
        return (
            entry.generation == generation
            and now - entry.stored < self.seconds
            and versions.now() < entry.until
        )

    def _key(self, environ: WSGIEnvironment) -> tuple[str, ...]:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        site = self.config.get("SITE_URL")
        if site:
            return (str(site), path, query)
        host = environ.get("HTTP_HOST") or "{}:{}".format(
            environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", "")
        )
        return (environ.get("wsgi.url_scheme", "http"), host, path, query)

    def _render(
        self,
        key: tuple[str, ...],
        generation: int,
        now: float,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """Let the app answer; keep the answer when it may be replayed."""
        returned = False
        kept: list[tuple[str, list[tuple[str, str]]]] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not returned and exc_info is None and _keepable(status, headers):
                kept.append((status, headers))
                return _cannot_write
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        returned = True
        if not kept:
            return body
        try:
            page = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        status, headers = kept[0]
        stated = next(int(v) for k, v in headers if k.lower() == "content-length")
        if stated == len(page):
            etag = next((v for k, v in headers if k.lower() == "etag"), None)
            modified = next((v for k, v in headers if k.lower() == "last-modified"), None)
            last_modified = parse_date(modified)
            until = versions.next_change()
            entry = Entry(status, tuple(headers), page, etag, last_modified, now, generation, until)
            self.entries.set(key, entry)
        start_response(status, headers)
        return [page]

    def _answer(
        self, entry: Entry, environ: WSGIEnvironment, start_response: StartResponse, now: float
    ) -> Iterable[bytes]:
        """The kept answer (its headers for a HEAD), or 304 when the reader has it already."""
        age = ("Age", str(int(now - entry.stored)))
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
        if conditional and not is_resource_modified(
            environ, etag=entry.etag, last_modified=entry.last_modified
        ):
            headers = [(k, v) for k, v in entry.headers if k.lower() in NOT_MODIFIED_HEADERS]
            start_response("304 NOT MODIFIED", [*headers, age])
            return []
        start_response(entry.status, [*entry.headers, age])
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [entry.body]


def install(app: Flask) -> None:
    """Wrap the app's WSGI handler (inside the request log), unless ``PAGE_CACHE`` is off or
    ``PAGE_REPLAY_SECONDS`` is 0."""
    seconds = float(app.config.get("PAGE_REPLAY_SECONDS", REPLAY_SECONDS))
    if app.config.get("PAGE_CACHE", True) and seconds > 0:
        app.wsgi_app = PageReplay(app.wsgi_app, app.config, seconds)  # type: ignore[method-assign]
