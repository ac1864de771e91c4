"""A request id and one log line per request, for every request (also those the replay,
blog.cache.replay, answers before Flask sees them).

The id is the client's ``X-Request-ID`` when that is a short safe token (nginx's
``$request_id``, say), else a new one; it goes back in the response's ``X-Request-ID`` and into
every line logged about the request. The line goes to the ``blog.request`` logger at INFO
(WARNING for a 5xx, ERROR for a 500) once its status and headers are ready: ``plain`` (the
default) or ``json`` (``LOG_FORMAT``), as docs/operations.md shows. The path is logged without
its query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, has_request_context, request
from werkzeug.wsgi import ClosingIterator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("blog.request")

ENVIRON_KEY = "blog.request_id"
HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(incoming: str | None) -> str:
    """The client's id when it is a short safe token, else a new random one."""
    if incoming and _SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being handled ("-" outside a request)."""
    if not has_request_context():
        return "-"
    return str(request.environ.get(ENVIRON_KEY, "-"))


def format_line(fields: dict[str, Any], json_lines: bool) -> str:
    """One request's log line: a JSON object, or the same fields as plain text."""
    if json_lines:
        return json.dumps(fields, separators=(",", ":"))
    return "{method} {path} {status} {duration_ms}ms id={request_id} addr={remote_addr}".format(
        **fields
    )


class RequestLog:
    """WSGI middleware: sets the request id, echoes it, and logs the request when done."""

    def __init__(self, app: WSGIApplication, json_lines: bool) -> None:
        self.app = app
        self.json_lines = json_lines

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = rid
        started = time.perf_counter()
        status: list[str] = []

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[:] = [code.split(" ", 1)[0]]
            kept = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            return start_response(code, [*kept, (HEADER, rid)], exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            self._log(environ, "500", started, rid)
            raise
        if status:  # the usual case: Flask starts the response before it returns
            self._log(environ, status[0], started, rid)
            return body
        return ClosingIterator(body, lambda: self._log(environ, status[0], started, rid))

    def _log(self, environ: WSGIEnvironment, status: str, started: float, rid: str) -> None:
        fields = {
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "request_id": rid,
            "remote_addr": environ.get("REMOTE_ADDR") or "-",
        }
        code = fields["status"]
        level = logging.INFO
        if isinstance(code, int) and code >= 500:  # 503s too: an operator must hear of them
            level = logging.ERROR if code == 500 else logging.WARNING
        log.log(level, format_line(fields, self.json_lines))


def _ensure_output() -> None:
    """INFO lines must reach somebody: when logging is not configured at all (no handler on
    the root logger or ours), the lines go to standard error, one message per line."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)


def install(app: Flask) -> None:
    """Wrap the app's WSGI handler (outside the replay, inside ProxyFix)."""
    _ensure_output()
    json_lines = app.config.get("LOG_FORMAT") == "json"
    app.wsgi_app = RequestLog(app.wsgi_app, json_lines)  # type: ignore[method-assign]
