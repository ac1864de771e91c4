"""Conditional responses for anonymous pages: ETag and Last-Modified from the content version,
``304`` when they match, ``Cache-Control`` saying whether a shared cache may keep the page, and
the rendered page kept in the page store until the content version moves.

A page's ETag is derived from the content version, the URL and whatever makes the page personal,
before anything is rendered: a conditional request is answered ``304`` after one query, and any
write (a newly approved comment included) changes every ETag at once. docs/caching.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, make_response, request, session
from flask_login import current_user
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Response

from blog.cache.stores import page_store
from blog.cache.versions import content_version_and_time
from blog.links import site_origin

F = TypeVar("F", bound=Callable[..., Any])

# Part of every page's ETag and cache key, with a digest of the templates and static files
# (page_format()): pages cached in Redis by an older release are never served by a newer one.
PAGE_FORMAT = "3"
# How long a shared cache (nginx, a CDN) may answer with a public page before asking again, and
# for how much longer it may answer with the old copy while it asks in the background: an
# approval reaches readers behind such a cache within SHARED_MAX_AGE seconds (the one request
# that starts a revalidation may still get the old copy). docs/caching.md.
SHARED_MAX_AGE = 10
STALE_WHILE_REVALIDATE = 30
SHARED_PAGE = (
    f"public, max-age=0, s-maxage={SHARED_MAX_AGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
)
PRIVATE_PAGE = "private, no-cache, max-age=0"
_FORMAT, _PERSONAL = "blog_page_format", "blog_personal_cookies"


def _render_shared(view: Callable[..., Any], args: Any, kwargs: Any, key: str) -> Response:
    """The page as every anonymous reader sees it, from the page store or rendered once into it
    (kept with its content type: feeds and sitemaps are kept as well as pages)."""
    store = page_store()
    entry = store.get(key) if store is not None else None
    if entry is None:
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or store is None or session.modified:
            return response  # a page that wrote the session is this reader's alone
        entry = f"{response.content_type}\n".encode() + response.get_data()
        store.set(key, entry)
    content_type, _, page = entry.partition(b"\n")
    return Response(page, content_type=content_type.decode())


def _page_etag(version: str, personal: str) -> str:
    page_format = current_app.extensions[_FORMAT]
    # The origin of absolute links is part of it: without SITE_URL they follow the request's
    # host, and a request with a forged Host must not put its links into everyone's page.
    seed = f"{page_format}|{version}|{site_origin()}|{request.full_path}|{personal}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def conditional(view: F) -> F:
    """Cache an anonymous GET page: ETag and Last-Modified, 304 when they match, and the
    rendered page kept (per worker, or in Redis) until the content version changes.

    Signed-in users get ``private, no-cache``, no validators and a fresh render. A reader with
    one of the personal cookies (init_app's; a pending comment, saved details) gets a page of
    their own (not from the shared cache), marked private. Every other anonymous page, the post
    page with its reply form included, is the same for every reader and may sit in a shared
    cache (SHARED_PAGE).
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD") or current_user.is_authenticated:
            return _never_shared(make_response(view(*args, **kwargs)))
        version, modified = content_version_and_time()
        cookies = current_app.extensions[_PERSONAL]
        personal = "|".join(request.cookies.get(name, "") for name in cookies)
        etag = _page_etag(version, personal)
        response: Response
        if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
            response = Response(status=304)
        elif personal.strip("|"):
            response = make_response(view(*args, **kwargs))
        else:
            response = _render_shared(view, args, kwargs, etag)
        if response.status_code in (200, 304):
            _add_validators(response, etag, modified, personal=bool(personal.strip("|")))
        return response

    return cast(F, wrapped)


def _never_shared(response: Response) -> Response:
    """A signed-in user's page, or the answer to a form: ``private, no-cache``, no validators."""
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


def _add_validators(
    response: Response, etag: str, modified: datetime | None, personal: bool
) -> None:
    """ETag, Last-Modified, ``Vary: Cookie`` and whether a shared cache may keep the page."""
    # Header values written directly: this runs on every page served from the cache.
    headers = response.headers
    headers["ETag"] = f'"{etag}"'
    if modified is not None:
        headers["Last-Modified"] = http_date(modified)
    if "Vary" in headers:
        response.vary.add("Cookie")
    else:
        headers["Vary"] = "Cookie"
    # A page that wrote to the session (it would send a cookie) is nobody else's either.
    private = personal or session.modified
    headers["Cache-Control"] = PRIVATE_PAGE if private else SHARED_PAGE


def page_format(app: Flask) -> str:
    """PAGE_FORMAT and a digest of every template and static file of this release."""
    digest = hashlib.sha256(PAGE_FORMAT.encode())
    for folder in (app.template_folder, app.static_folder):
        root = Path(app.root_path, folder or "")
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def init_app(app: Flask, personal_cookies: tuple[str, ...]) -> None:
    """``personal_cookies``: the cookies that make a reader's page their own (the web layer
    knows them; sent with a value, the page is rendered for that reader and marked private)."""
    app.extensions[_FORMAT] = page_format(app)
    app.extensions[_PERSONAL] = personal_cookies
