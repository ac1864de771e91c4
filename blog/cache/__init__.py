"""Caching of public pages: the one seam between the web layer and caching.

It sees writes by itself (``tracking``: session events stamp a new content version on commit),
so no other module tells it about a change; only the web layer, the API and the factory import
it. ``versions`` reads the stamp, ``conditional`` answers a page with validators from it,
``stores`` keeps rendered pages, ``memo`` keeps values drawn from the posts alone.
"""

from __future__ import annotations

from flask import Flask

from blog.cache import conditional, memo, stores, tracking


def init_app(app: Flask, personal_cookies: tuple[str, ...]) -> None:
    """Watch the session for writes, and set up this app's page store and memo.
    ``personal_cookies``: see :func:`blog.cache.conditional.init_app`."""
    tracking.install_content_version_tracking()
    conditional.init_app(app, personal_cookies)
    memo.init_app(app)
    stores.init_app(app)
