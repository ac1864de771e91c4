"""Fingerprinted static URLs: ``url_for('static', filename=...)`` gains ``?v=<digest of the file>``.

A file's URL changes whenever its bytes change, so a proxy in front (``deploy/nginx/blog.conf``)
may serve ``/static/`` with a far-future, immutable ``Cache-Control`` and a release never leaves
browsers on an old stylesheet. Templates keep calling ``url_for('static', ...)`` unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask

DIGEST_CHARS = 12
# (path, mtime_ns, size) -> digest: a changed file (a new release, an edit in development)
# gets a new digest on the next URL built; an unchanged one costs one stat().
_Key = tuple[str, int, int]


def file_digest(path: Path, memo: dict[_Key, str]) -> str | None:
    """The first hex digits of the file's SHA-256, or None when there is no such file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in memo:
        memo[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]
    return memo[key]


def init_app(app: Flask) -> None:
    """Add ``v=<digest>`` to every URL built for the ``static`` endpoint."""
    memo: dict[_Key, str] = {}
    folder = Path(app.static_folder or "")

    def fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static" or "filename" not in values or "v" in values:
            return
        name = os.path.normpath(str(values["filename"]))
        if name.startswith(("..", "/")):
            return
        digest = file_digest(folder / name, memo)
        if digest is not None:
            values["v"] = digest

    app.url_defaults(fingerprint)
