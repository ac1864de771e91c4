"""Where the test suite finds PostgreSQL, and why it says so when it does not.

The PostgreSQL half of the suite runs whenever PostgreSQL answers: at ``BLOG_TEST_DATABASE_URL``
when that is set, else at the documented default address (:data:`DEFAULT_PG_URL`). Set
``BLOG_TEST_DATABASE_URL=none`` to run the SQLite half only. Every skip names the reason.
"""

from __future__ import annotations

import os

import psycopg

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _find_postgresql() -> tuple[str, str]:
    """The URL to test against ("" when none) and, when none, why."""
    configured = os.environ.get("BLOG_TEST_DATABASE_URL")
    if configured is not None and configured.strip().lower() in {"", "none", "off"}:
        return "", "BLOG_TEST_DATABASE_URL is set to none: the PostgreSQL half is switched off"
    url = configured or DEFAULT_PG_URL
    try:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(conninfo, connect_timeout=2):
            pass
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return "", f"PostgreSQL does not answer at {url} ({first_line})"
    return url, ""


PG_URL, PG_SKIP_REASON = _find_postgresql()
