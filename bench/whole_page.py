"""``python -m bench.whole_page``: what one whole page costs in process, for weighing machinery.

Seeds the benchmark's small data set (SQLite, or PostgreSQL with ``--postgres``), then times each
page through Flask's test client, taking turns between pages so that a neighbour's burst falls on
all of them alike: the moderation queue (a moderator, its 20 rows), the post page with 50
threaded comments served from the page store (the one version read) and rendered (page store
off), and a comment POST. Prints, per page, the median over rounds of the wall and CPU time of
one request. Without gunicorn and HTTP a request costs less, so a piece of machinery's share
here is an upper bound of its share through gunicorn.

To weigh a piece of machinery, run this on the code with it and on the code without it (a
second checkout), a few times each, taking turns (docs/benchmark.md, "Machinery").
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask

from bench import seed
from bench.apps import BenchDatabase, make_blog_app, signed_in_cookie
from bench.dataset import FIFTY_SLUG, MODERATOR, SIZES

USER_AGENT = "blog-bench/1 (whole page)"
ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}


@dataclass
class Timing:
    wall_ms: list[float]
    cpu_ms: list[float]


def _pages(apps: tuple[Flask, Flask], moderator: str, root_id: int) -> dict[str, Page]:
    """Each page as a request and the status it must answer. One client per page: a reply's
    cookies (its author's own comments) would make the post page personal."""
    stored, rendered = apps
    post = f"/blog/{FIFTY_SLUG}/"
    signed_in = {"User-Agent": USER_AGENT}
    count = iter(range(10**9))
    queue, from_store, render, poster = (
        stored.test_client(),
        stored.test_client(),
        rendered.test_client(),
        stored.test_client(),
    )
    name, _, value = moderator.partition("=")
    queue.set_cookie(name, value)

    def reply() -> int:
        n = next(count)
        form = {"name": "Bench probe", "email": f"probe-{n}@example.com", "url": "",
                "body": f"Whole-page probe {n} {secrets.token_hex(4)}.",
                "parent_id": str(root_id if n % 2 else "")}  # fmt: skip
        poster._cookies.clear()  # a new reader each time: no own comments, no saved details
        return poster.post(
            f"{post}comments",
            data=urlencode(form),
            content_type="application/x-www-form-urlencoded",
            environ_base=ENVIRON,
        ).status_code

    return {
        "moderation queue, 20 rows": Page(
            lambda: queue.get("/admin/comments/", headers=signed_in, environ_base=ENVIRON)
        ),
        "post page, from the page store": Page(lambda: from_store.get(post).status_code),
        "post page, rendered": Page(lambda: render.get(post).status_code),
        "comment POST": Page(reply, 303),
    }


@dataclass(frozen=True)
class Page:
    request: Callable[[], object]
    status: int = 200


def _time(page: Page, requests: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        answer = page.request()
        status = answer if isinstance(answer, int) else getattr(answer, "status_code", 0)
        if status != page.status:
            raise RuntimeError(f"the page answered {status}, not {page.status}")
    return (
        (time.perf_counter() - wall) * 1000 / requests,
        (time.process_time() - cpu) * 1000 / requests,
    )


def measure(
    apps: tuple[Flask, Flask], moderator: str, root_id: int, options: argparse.Namespace
) -> dict[str, Timing]:
    pages = _pages(apps, moderator, root_id)
    for page in pages.values():
        _time(page, 20)  # warm up: templates compiled, statements cached, pools filled
    found = {name: Timing([], []) for name in pages}
    for _ in range(options.rounds):
        for name, page in pages.items():
            wall, cpu = _time(page, options.requests)
            found[name].wall_ms.append(wall)
            found[name].cpu_ms.append(cpu)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whole_page", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40, help="per page and round")
    parser.add_argument("--postgres", metavar="URL", default=None)
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="blog-whole-page-"))
    if options.postgres:
        database = BenchDatabase("postgresql", options.postgres, schema="bench_whole_page")
    else:
        path = workdir / "blog.sqlite3"
        database = BenchDatabase("sqlite", f"sqlite:///{path}", path=path)
    secret = secrets.token_hex(32)
    seeded, app = seed.prepare(database, SIZES["small"], secret, workdir / "instance", False)
    try:
        rendered = make_blog_app(database, secret, workdir / "instance", page_cache=False)
        cookie = signed_in_cookie(app, MODERATOR, USER_AGENT)
        found = measure((app, rendered), cookie, seeded.fifty_root_comment_id, options)
    finally:
        seed.discard_submitted_comments(app, seeded)
        seed.drop(database)
    for name, timing in found.items():
        print(
            f"{name:34} wall {statistics.median(timing.wall_ms):7.3f} ms"
            f"   cpu {statistics.median(timing.cpu_ms):7.3f} ms   (median of {options.rounds})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
