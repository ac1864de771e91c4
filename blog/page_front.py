"""Cached pages for first visits, answered before Flask sees the request.

Most of a blog's readers arrive with no cookie at all: from a search engine, a feed, a shared
link. WordPress's page caches serve them a stored file before WordPress loads; this is the same
idea, kept exact. When the Flask path (:func:`blog.caching.conditional`) has served a URL's
shared page to such a request, this WSGI layer keeps what went out: the status, every header,
and the body with the CSRF placeholder where the token goes. The next request for the same
scheme, host, path and query that carries no cookie, no ``Authorization`` and no conditional
header is answered from that record after the one read every cached page costs (the content
version), with a CSRF token and a session cookie of its own, of the same form Flask-WTF and
Flask write. A returning reader whose only cookie is such a session (nothing in it but the CSRF
secret) gets the same page with a token from that secret and no new cookie, as from Flask.
Anything else goes to Flask: a signed-in user, a commenter with their own cookies, any other
cookie or request, a record of an older content version, a database error (Flask answers that
with its 503 page).

A record is kept only when the response can be replayed as it was: status 200, no cookie but
Flask's session cookie, that cookie without an expiry date, and a session holding nothing but
the new CSRF token.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_cookie

from blog.database import read_value
from blog.lru import LRU

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Set by the front when its copy was out of date: the stamp it read, which Flask then uses
# rather than reading it a second time (blog.templating.site_settings).
STAMP_KEY = "blog.page_front.stamp"
# Set in the WSGI environ by conditional() when it served a shared page, and by the API's
# cached_read(): (version, body, the CSRF placeholder or None).
RECORD_KEY = "blog.page_front.record"
# Flask-WTF signs its tokens with this salt (flask_wtf.csrf.generate_csrf); the test suite posts
# a form with a token made here, CSRF on, so a change there fails a test rather than a reader.
CSRF_SALT = "wtf-csrf-token"
# A request with any of these is somebody's own (or asks for less than the page): Flask answers.
_PERSONAL = (
    "HTTP_AUTHORIZATION",
    "HTTP_ORIGIN",  # the API's CORS headers depend on it
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
)

Key = tuple[str, str, str, str, str]
Headers = list[tuple[str, str]]


def front_key(environ: WSGIEnvironment) -> Key | None:
    """What a shared page is kept under, or None when Flask must answer the request (cookies
    are looked at apart, by :meth:`PageFront.reader_secret`)."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    for name in _PERSONAL:
        if name in environ:
            return None
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return (
        environ.get("wsgi.url_scheme", "http"),
        host,
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )


@dataclass(frozen=True)
class FrontPage:
    version: str  # the effective content version the page was rendered under
    status: str
    headers: tuple[tuple[str, str], ...]  # all but Content-Length and Set-Cookie
    body: bytes  # with ``marker`` where each reader's CSRF token goes
    marker: bytes | None
    cookie: tuple[str, str] | None  # the session cookie's Set-Cookie value around the cookie


class PageFront:
    """The WSGI layer; ``app.wsgi_app`` is wrapped in it by :func:`install`."""

    def __init__(
        self, app: Flask, wsgi_app: WSGIApplication, engine: Engine, max_entries: int
    ) -> None:
        self.wsgi_app = wsgi_app
        self.engine = engine
        self.hits = 0
        self._pages: LRU[Key, FrontPage] = LRU(max_entries)
        self._version_sql = _version_sql()
        self._cookie_name = str(app.config["SESSION_COOKIE_NAME"])
        self._field = str(app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token")
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self._csrf = URLSafeTimedSerializer(secret, salt=CSRF_SALT)  # type: ignore[arg-type]
        self._max_age = app.permanent_session_lifetime.total_seconds()
        interface = app.session_interface
        self._session = (
            interface.get_signing_serializer(app)
            if type(interface) is SecureCookieSessionInterface
            else None
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        key = front_key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        cookies = environ.get("HTTP_COOKIE")
        if cookies is None:
            secret = None
        else:
            secret = self.reader_secret(cookies)
            if secret is None:
                return self.wsgi_app(environ, start_response)
        page = self._pages.get(key)
        if page is not None:
            served = self._serve(page, environ, start_response, secret)
            if served is not None:
                return served
        if cookies is not None:  # only a first visit's response is kept
            return self.wsgi_app(environ, start_response)
        return self._through(key, environ, start_response)

    def reader_secret(self, cookies: str) -> str | None:
        """The CSRF secret of a returning anonymous reader, whose only cookie is a session
        holding nothing but that secret (and Flask-Login's "not fresh"); None for anybody else
        (signed in, a commenter with their own cookies, any other cookie, a session Flask would
        not accept or would write again)."""
        if self._session is None:
            return None
        if not cookies.isascii():  # ours are; Flask makes what it can of anything else
            return None
        parsed = parse_cookie(cookies)
        if list(parsed) != [self._cookie_name]:
            return None
        try:
            stored = self._session.loads(parsed[self._cookie_name], max_age=self._max_age)
        except BadData:
            return None
        # Flask-Login marks such a session not fresh on the reader's second request (its "basic"
        # session protection) and Flask writes the cookie again; from then on the session is
        # this and Flask leaves the cookie alone, as the front does.
        if not isinstance(stored, dict) or stored.keys() != {self._field, "_fresh"}:
            return None
        if stored["_fresh"] is not False:
            return None
        secret = stored[self._field]
        return secret if isinstance(secret, str) else None

    def _serve(
        self,
        page: FrontPage,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        secret: str | None,
    ) -> list[bytes] | None:
        """The page, if it is of the current content version. A returning reader's token is
        made from the secret in their session, and their cookie stays as it is (as Flask
        does); a first visit gets a new secret in a new session cookie."""
        from blog.caching import version_now

        try:
            stamp = read_value(self._version_sql, self.engine) or ""
        except SQLAlchemyError:
            return None  # Flask answers, with its 503 page if the database stays away
        if version_now(stamp)[0] != page.version:
            environ[STAMP_KEY] = stamp
            return None
        body = page.body
        headers = list(page.headers)
        if page.cookie is not None and page.marker is not None:
            if secret is not None:
                token = self._csrf.dumps(secret)
            else:
                token, cookie = self.new_token()
                headers.append(("Set-Cookie", page.cookie[0] + cookie + page.cookie[1]))
            body = body.replace(page.marker, token.encode())
        headers.append(("Content-Length", str(len(body))))
        start_response(page.status, headers)
        self.hits += 1
        return [body]

    def new_token(self) -> tuple[str, str]:
        """A new reader's CSRF token and the session cookie value that holds its secret."""
        assert self._session is not None
        secret = hashlib.sha1(os.urandom(64)).hexdigest()
        return self._csrf.dumps(secret), self._session.dumps({self._field: secret})

    def _through(
        self, key: Key, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        sent: list[tuple[str, Headers]] = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., Any]:
            sent.append((status, headers))
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        record = environ.get(RECORD_KEY)
        if record is not None and sent:
            page = self._replayable(*record, *sent[-1])
            if page is not None:
                self._pages.set(key, page)
        return result

    def _replayable(
        self, version: str, body: bytes, marker: bytes | None, status: str, headers: Headers
    ) -> FrontPage | None:
        if not status.startswith("200 "):
            return None
        kept: list[tuple[str, str]] = []
        cookies: list[str] = []
        for name, value in headers:
            lowered = name.lower()
            if lowered == "set-cookie":
                cookies.append(value)
            elif lowered != "content-length":
                kept.append((name, value))
        cookie = None
        if cookies:
            cookie = self._session_cookie(cookies)
            if cookie is None:
                return None
        if (cookie is not None) != (marker is not None and marker in body):
            return None
        return FrontPage(version, status, tuple(kept), body, marker, cookie)

    def _session_cookie(self, cookies: list[str]) -> tuple[str, str] | None:
        """The Set-Cookie value around the session cookie, if replaying it is exact."""
        prefix = f"{self._cookie_name}="
        if self._session is None or len(cookies) != 1 or not cookies[0].startswith(prefix):
            return None
        value, separator, attributes = cookies[0][len(prefix) :].partition(";")
        lowered = attributes.lower()
        if value.startswith('"') or "expires=" in lowered or "max-age=" in lowered:
            return None
        try:
            stored = self._session.loads(value)
        except BadData:
            return None
        if not isinstance(stored, dict) or set(stored) != {self._field}:
            return None
        return prefix, separator + attributes


def _version_sql() -> str:
    from blog.settings import VERSION_SQL

    return VERSION_SQL


def install(app: Flask, engine: Engine) -> None:
    """Put the front before Flask's own WSGI handler (inside ProxyFix, if that is installed
    later), when the page cache is on."""
    if not app.config.get("PAGE_CACHE", True):
        return
    entries = int(app.config.get("PAGE_CACHE_ENTRIES", 512))
    front = PageFront(app, app.wsgi_app, engine, entries)
    app.extensions["blog_page_front"] = front
    app.wsgi_app = front  # type: ignore[method-assign]
