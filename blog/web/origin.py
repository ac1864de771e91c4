"""Where a state-changing request comes from: the check beside the CSRF tokens (SPEC section 2).

A browser says where a request comes from in ``Sec-Fetch-Site`` (Fetch Metadata, every current
browser) or, older ones, in ``Origin``. A POST, PUT, PATCH or DELETE is refused unless it comes
from the site itself: the approach of Go's ``http.CrossOriginProtection`` and of OWASP's CSRF
cheat sheet. It is what protects the anonymous reply form, whose page is shared by every reader
and so carries no per-reader token; every other form keeps its Flask-WTF token as well.

- ``Sec-Fetch-Site: same-origin`` or ``none`` (the user typed it, a bookmark): allowed.
- Any other ``Sec-Fetch-Site`` (``cross-site``, ``same-site``: a sibling subdomain is another
  site's page): refused, unless its ``Origin`` is one the caller trusts (the API's CORS origins).
- No ``Sec-Fetch-Site``: allowed when ``Origin`` is the site's own origin (or a trusted one),
  refused when it is any other (``null`` included), allowed when there is no ``Origin`` either
  (curl, a server, a browser too old to send either, the test client: nothing of a browser's
  ambient authority to abuse that a CSRF token would not stop).

The site's own origin is ``BLOG_SITE_URL``'s when it is set, else the request's scheme and host.
API calls with a bearer token are not checked: a browser never adds one by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response

from blog.web.errors import render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ALLOWED_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}
ANY = "*"
REFUSED = (
    "This form was sent from another site, so nothing was done. If you meant to send it, "
    "do it again from this page: what you typed is still here."
)


class CrossOriginRefused(Forbidden):
    """A state-changing request from another site: 403, with the typed text shown back."""

    description = REFUSED


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL or an ``Origin`` value, lower-cased, default port
    dropped; "" when it is none (``null``, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    shown = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{shown}"


def request_allowed(
    method: str,
    sec_fetch_site: str | None,
    origin: str | None,
    own_origin: str,
    trusted: Collection[str] = (),
) -> bool:
    """Whether a request may change anything, by where it says it comes from.

    ``own_origin`` and ``trusted`` are origins as :func:`origin_of` gives them; ``trusted`` may
    hold ``"*"`` (any origin)."""
    if method.upper() in SAFE_METHODS:
        return True
    sender = origin_of(origin) if origin is not None else None
    is_trusted = sender is not None and bool(sender) and (ANY in trusted or sender in trusted)
    if sec_fetch_site is not None:
        return sec_fetch_site.strip().lower() in ALLOWED_SITES or is_trusted
    if origin is None:
        return True
    return (bool(sender) and sender == origin_of(own_origin)) or is_trusted


# --- the hook ---------------------------------------------------------------------------------

# Origins trusted beside the site's own for the current request (the API's CORS origins, for
# the views open to them): registered by the API, asked by check_request().
TrustedOrigins = Callable[[], Collection[str]]


def own_origin() -> str:
    """The site's origin: ``SITE_URL``'s when set, never the Host header's then."""
    site = current_app.config.get("SITE_URL")
    return origin_of(site) if site else origin_of(request.host_url)


def _bearer_call() -> bool:
    scheme, _, _ = request.headers.get("Authorization", "").strip().partition(" ")
    return request.blueprint == "api" and scheme.lower() == "bearer"


def check_request() -> None:
    """Before every request: refuse a state-changing one from another site (403)."""
    if request.method in SAFE_METHODS or _bearer_call():
        return
    trusted_for: TrustedOrigins | None = current_app.extensions.get("blog_trusted_origins")
    trusted = trusted_for() if trusted_for is not None else ()
    headers = request.headers
    if not request_allowed(
        request.method, headers.get("Sec-Fetch-Site"), headers.get("Origin"), own_origin(), trusted
    ):
        raise CrossOriginRefused()


def _refused(error: CrossOriginRefused) -> tuple[str | Response, int]:
    """The error page (JSON under /api), which shows a typed comment back; the reply, comment
    edit and admin post forms come back filled in instead (their blueprints' handlers)."""
    return render_error(403, error.description)


def init_app(app: Flask, trusted: TrustedOrigins | None = None) -> None:
    """Check every request, before any other hook (CSRF's included: a cross-site post is a
    403, whatever its token)."""
    if trusted is not None:
        app.extensions["blog_trusted_origins"] = trusted
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
    app.register_error_handler(CrossOriginRefused, _refused)
