"""``python -m bench.machinery``: what each piece of performance machinery saves on a whole page.

Each piece (PIECES: those that earned their keep; what was measured and removed is in
docs/benchmark.md) is weighed on the page it serves, in one process on the benchmark's small
data set (SQLite), taking turns: a batch of requests with the piece, a batch with the plain code
put in its place, and again, so that whatever else the machine is doing falls on both alike (a
whole page moved by more than 10 % between separate runs on the shared machine). The figure is
the CPU time of one request, with and without, and what the piece saves as a share of the page
without it. The pages: the moderation queue (a moderator, 20 rows), a reply POST (the plain code
builds the statement and its cache key again), and the post page from the page store. Without
gunicorn and HTTP a request costs less, so a share here is an upper bound of the share through
gunicorn. docs/benchmark.md, "Machinery".
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from bench import seed
from bench.apps import BenchDatabase, signed_in_cookie
from bench.dataset import FIFTY_SLUG, MODERATOR, SIZES
from blog import settings
from blog.comments import queue, submit
from blog.extensions import db
from blog.models import Setting
from blog.web import moderation

USER_AGENT = "blog-bench/1 (machinery)"
ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}


@dataclass(frozen=True)
class Piece:
    name: str
    page: str  # a key of _requests()
    without: Callable[[], AbstractContextManager[object]]  # the plain code in its place


def _uncached(module: Any, *names: str) -> Callable[[], AbstractContextManager[object]]:
    """The statement builders ``names`` called afresh each time (their @cache bypassed)."""

    @contextmanager
    def patched() -> Iterator[None]:
        with mock.patch.multiple(module, **{n: getattr(module, n).__wrapped__ for n in names}):
            yield

    return patched


def _version_through_the_session(_sql: str, _engine: object = None) -> object:
    version = select(Setting.value).where(Setting.key == settings.CONTENT_VERSION_KEY)
    return db.session.scalar(version)


PIECES = (
    Piece("RowLinks", "queue", lambda: mock.patch.object(moderation, "RowLinks", lambda: url_for)),
    Piece("queue: its five statements", "queue", _uncached(queue, "_staff_statements")),
    Piece("POST: parent facts", "reply", _uncached(submit, "_parent_facts_statement")),
    Piece("POST: sender's history", "reply", _uncached(submit, "_history_statement")),
    Piece(
        "version read on a raw connection",
        "stored post",
        lambda: mock.patch.object(settings, "read_value", _version_through_the_session),
    ),
)


def _requests(app: Flask, moderator: str, root_id: int) -> dict[str, Callable[[], None]]:
    """Each page as a request; one client per page (a reply's cookies would make the post page
    personal)."""
    post = f"/blog/{FIFTY_SLUG}/"
    queue_client, reader, poster = app.test_client(), app.test_client(), app.test_client()
    name, _, value = moderator.partition("=")
    queue_client.set_cookie(name, value)
    count = iter(range(10**9))

    def expect(client: FlaskClient, status: int, *args: Any, **kwargs: Any) -> None:
        answer = client.open(*args, **kwargs)
        if answer.status_code != status:
            raise RuntimeError(f"{args[0]} answered {answer.status_code}, not {status}")

    def reply() -> None:
        n = next(count)
        body = f"Machinery probe {n} {secrets.token_hex(4)}."
        form = {"name": "Bench probe", "email": f"probe-{n}@example.com", "url": "",
                "body": body, "parent_id": str(root_id)}  # fmt: skip
        poster._cookies.clear()  # a new reader each time
        expect(poster, 303, f"{post}comments", method="POST", data=urlencode(form),
               content_type="application/x-www-form-urlencoded", environ_base=ENVIRON)  # fmt: skip

    def queue_page() -> None:
        headers = {"User-Agent": USER_AGENT}
        expect(queue_client, 200, "/admin/comments/", headers=headers, environ_base=ENVIRON)

    return {
        "queue": queue_page,
        "reply": reply,
        "stored post": lambda: expect(reader, 200, post),
    }


def _batch(request: Callable[[], None], size: int) -> float:
    started = time.process_time()
    for _ in range(size):
        request()
    return (time.process_time() - started) * 1000 / size


def weigh(piece: Piece, request: Callable[[], None], options: argparse.Namespace) -> str:
    with_it: list[float] = []
    without: list[float] = []
    for turn in range(options.rounds):
        # With first, then without; the next turn the other way round: a page that grows
        # slower as the replies pile up weighs on both alike.
        for plain in (False, True) if turn % 2 == 0 else (True, False):
            with piece.without() if plain else nullcontext():
                (without if plain else with_it).append(_batch(request, options.requests))
    kept, plain = statistics.median(with_it), statistics.median(without)
    share = (plain - kept) / plain * 100
    return f"{piece.name:34} {piece.page:12} {kept:7.3f} ms  {plain:7.3f} ms  {share:5.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.machinery", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9, help="turns with and without")
    parser.add_argument("--requests", type=int, default=20, help="per batch")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="blog-machinery-"))
    path = workdir / "blog.sqlite3"
    database = BenchDatabase("sqlite", f"sqlite:///{path}", path=path)
    seeded, app = seed.prepare(database, SIZES["small"], secrets.token_hex(32), workdir, False)
    print(f"{'piece':34} {'page':12} {'with':>10} {'without':>10}  saves (CPU per request)")
    try:
        cookie = signed_in_cookie(app, MODERATOR, USER_AGENT)
        requests = _requests(app, cookie, seeded.fifty_root_comment_id)
        for request in requests.values():
            _batch(request, 20)  # warm up: templates compiled, statements cached
        for piece in PIECES:
            print(weigh(piece, requests[piece.page], options), flush=True)
    finally:
        seed.discard_submitted_comments(app, seeded)
        seed.drop(database)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
