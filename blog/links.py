"""Absolute links and the script root: from ``BLOG_SITE_URL`` when it is set, never from what a
client sends.

Pages shared by every reader (docs/caching.md) hold absolute links (the canonical link, JSON-LD,
feeds, sitemaps, the API's ``url`` fields) and relative ones built on the script root. A
``Host``, ``X-Forwarded-Host`` or ``SCRIPT_NAME`` a client sends must not reach them: with
``SITE_URL`` set, the scheme and host of every absolute link are its, and the script root is its
path for every request (:class:`FixedScriptRoot`). Without it (development), absolute links
follow the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask import current_app, has_request_context, request, url_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# What stays unquoted in a path (werkzeug's request.base_url: the URL standard's path segment,
# and "%" of what is quoted already).
PATH_SAFE = "!$&'()*+,/:;=@%"


def site_origin() -> str:
    """``scheme://host[:port]`` in front of every absolute link (no trailing slash)."""
    site = current_app.config.get("SITE_URL")
    if site:
        return _origin(str(site))
    if has_request_context():
        # Not request.host_url: the same text, but its IRI round trip costs a tenth of a
        # cached page.
        return f"{request.scheme}://{request.host}"
    return ""


@lru_cache(maxsize=8)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def absolute(path: str) -> str:
    """An absolute link to ``path`` as ``url_for`` builds it (the script root included)."""
    return site_origin() + path


def this_page() -> str:
    """The absolute URL of the current page, without its query string (canonical links)."""
    # The path as request.base_url quotes it after the host.
    root = quote(request.root_path.rstrip("/"), safe=PATH_SAFE)
    return absolute(f"{root}/{quote(request.path.lstrip('/'), safe=PATH_SAFE)}")


def path_for(endpoint: str, **values: Any) -> str:  # Any: url_for's values
    """``url_for``'s path, also outside a request (an import, a CLI command): built on the
    script root of ``SITE_URL`` then."""
    if has_request_context():
        return url_for(endpoint, **values)
    root = script_root(current_app.config.get("SITE_URL")) or "/"
    return current_app.url_map.bind("localhost", script_name=root).build(endpoint, values)


def script_root(site_url: str | None) -> str:
    """The path ``SITE_URL`` puts the site under ("" at the root), without a trailing slash."""
    if not site_url:
        return ""
    return urlsplit(site_url).path.rstrip("/")


class FixedScriptRoot:
    """WSGI: every request's ``SCRIPT_NAME`` is the site's (``script_root``), whatever a client or
    server put there. The path a client asked for is put back together first (a server that
    took ``SCRIPT_NAME`` from a header cut it off ``PATH_INFO``), then the site's prefix taken
    off it when it is there (a proxy may pass the prefix on, or strip it)."""

    def __init__(self, app: WSGIApplication, root: str) -> None:
        self.app = app
        self.root = root

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        root = self.root
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
        environ["SCRIPT_NAME"] = root
        environ["PATH_INFO"] = path
        return self.app(environ, start_response)
