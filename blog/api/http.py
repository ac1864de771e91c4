"""The API's HTTP edges: bearer tokens, conditional GETs, CORS.

- Tokens: ``Authorization: Bearer <token>`` (blog.accounts.tokens). The API never reads the session
  cookie, so a signed-in browser grants nothing here and no request needs a CSRF token.
- Caching: public reads carry an ETag from the site's content version (blog.cache.versions), the
  same stamp every content commit moves, and answer ``304`` to a matching ``If-None-Match``.
- CORS: the public reads and comment posting answer the origins of ``API_CORS_ORIGINS``
  (none by default, ``*`` for any); the token endpoints never do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, make_response, request
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from blog.accounts.tokens import user_for_token
from blog.api.errors import ApiError
from blog.cache.conditional import SHARED_PAGE
from blog.cache.stores import page_store
from blog.cache.versions import content_version_and_time
from blog.links import site_origin
from blog.models import User
from blog.web.origin import ANY, origin_of

F = TypeVar("F", bound=Callable[..., Any])

API_FORMAT = "1"  # part of every ETag: bump when the representations change
CORS_HEADERS = "Content-Type, If-None-Match, If-Modified-Since"
CORS_EXPOSED = "ETag, Last-Modified, Location, Retry-After"
CORS_MAX_AGE = "600"


# --- bearer tokens ---------------------------------------------------------------------------


def token_user(required: bool = True) -> User | None:
    """The user of the request's bearer token. A missing token is None when not ``required``,
    a missing one when required or a wrong one always: 401."""
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise ApiError(401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
        return None
    scheme, _, secret = header.strip().partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise ApiError(
            401,
            "The API token is not valid: it was revoked, mistyped, or its user is deactivated.",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    return user


# --- conditional GETs ------------------------------------------------------------------------


def cached_read(view: F) -> F:
    """A public read: ETag and Last-Modified from the content version, 304 when they match,
    ``Cache-Control: public`` with a short shared max-age. The JSON of a 200 is kept in the
    rendered-page store (blog.cache.stores: per worker, or Redis) under its ETag, so until the
    next content commit the same read costs one query. Errors are not cached."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        version, modified = content_version_and_time()
        # The host is part of it: links in the JSON are absolute.
        seed = f"api|{API_FORMAT}|{version}|{site_origin()}|{request.full_path}"
        etag = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        store, key = page_store(), f"api:{etag}"
        if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
            response = Response(status=304)
        elif store is not None and (kept := store.get(key)) is not None:
            response = Response(kept, mimetype="application/json")
        else:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            if store is not None:
                store.set(key, response.get_data())
        response.set_etag(etag)
        if modified is not None:
            response.last_modified = modified
        response.headers["Cache-Control"] = SHARED_PAGE
        return response

    return cast(F, wrapped)


def private(response: Response) -> Response:
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


# --- CORS ------------------------------------------------------------------------------------


def cors(*methods: str) -> Callable[[F], F]:
    """Mark a view as open to the configured origins for ``methods``."""

    def mark(view: F) -> F:
        view.cors_methods = frozenset(m.upper() for m in methods)  # type: ignore[attr-defined]
        return view

    return mark


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``API_CORS_ORIGINS``: a comma-separated string or a list; ``*`` means any origin."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(item.strip().rstrip("/") for item in items if item.strip())


def _allowed_origin(origin: str) -> bool:
    origins = parse_origins(current_app.config.get("API_CORS_ORIGINS"))
    return "*" in origins or origin in origins


def _cors_methods(path: str) -> frozenset[str]:
    """The CORS methods of every view routed at ``path`` (GET and POST may be two views)."""
    table: dict[str, frozenset[str]] | None = current_app.extensions.get("blog_api_cors")
    if table is None:
        found: dict[str, set[str]] = {}
        for rule in current_app.url_map.iter_rules():
            view = current_app.view_functions.get(rule.endpoint)
            found.setdefault(rule.rule, set()).update(getattr(view, "cors_methods", ()))
        table = {path: frozenset(methods) for path, methods in found.items()}
        current_app.extensions["blog_api_cors"] = table
    return table.get(path, frozenset())


def trusted_origins() -> tuple[str, ...]:
    """The CORS origins, for a request to an API view open to them for its method: the origin
    check (blog.web.origin) lets them post a comment from their pages."""
    rule = request.url_rule
    if request.blueprint != "api" or rule is None:
        return ()
    if request.method not in _cors_methods(rule.rule):
        return ()
    origins = parse_origins(current_app.config.get("API_CORS_ORIGINS"))
    return tuple(o if o == ANY else origin_of(o) for o in origins)


def add_cors_headers(response: Response) -> Response:
    """After every API response: the CORS headers, if the view is open and the origin allowed.
    A preflight (OPTIONS with Access-Control-Request-Method) gets the methods and headers."""
    methods = _cors_methods(request.url_rule.rule) if request.url_rule is not None else frozenset()
    if not methods or not parse_origins(current_app.config.get("API_CORS_ORIGINS")):
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if not origin or not _allowed_origin(origin):
        return response
    allowed = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    if request.method == "OPTIONS":
        wanted = request.headers.get("Access-Control-Request-Method", "").upper()
        if wanted not in allowed:
            return response
        response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(allowed))
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    elif request.method not in allowed:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    return response
