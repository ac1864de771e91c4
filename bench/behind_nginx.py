"""The blog behind the shipped nginx (deploy/nginx/blog.conf), in the same run as the bare route.

Three figures, all through one nginx in front of the blog's gunicorn:

- the cookieless post page with 50 comments (kept by nginx, as the app marks it public);
- the same bytes as a static file from the same nginx: the ceiling the cached page is held to
  (target: the page at no less than 80% of it);
- the post page's cookieless readers while another wrk floods comment POSTs through nginx as fast
  as the app takes them (target: p99 under 50 ms).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import seed
from bench.dataset import FIFTY_SLUG
from bench.load import USER_AGENT, BenchError, LoadResult, Server, run_wrk, wrk_command
from bench.nginx import ROOT, Nginx, nginx_missing, run_nginx
from bench.report import EndpointResult

PAGE = f"/blog/{FIFTY_SLUG}/"
STATIC_COPY = "post-50-comments.html"
ROUNDS = 3


def _page_bytes(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise BenchError(f"{url} answered {response.status} through nginx")
        return bytes(response.read())


def _load(url: str, options: argparse.Namespace, connections: int | None = None) -> LoadResult:
    connections = connections or options.connections
    run_wrk(wrk_command(url, 1, connections))
    return run_wrk(wrk_command(url, options.duration, connections))


def _side_by_side(
    page_url: str, copy_url: str, options: argparse.Namespace
) -> tuple[LoadResult, LoadResult]:
    """Each URL loaded ROUNDS times, taking turns, and the median run of each: on a shared
    machine a neighbour's burst then lands on both alike instead of on one."""
    pages: list[LoadResult] = []
    copies: list[LoadResult] = []
    for _ in range(ROUNDS):
        pages.append(_load(page_url, options))
        copies.append(_load(copy_url, options))
    return _median(pages), _median(copies)


def _median(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda run: run.rps)[len(runs) // 2]


def _readers_during_flood(
    nginx: Nginx, seeded: seed.Seeded, options: argparse.Namespace
) -> tuple[LoadResult, LoadResult]:
    """wrk reading the post page and wrk posting comments, at once, for the same duration."""
    run_tag = secrets.token_hex(4)
    posts = wrk_command(
        nginx.url + f"{PAGE}comments", options.duration, options.connections, "comment.lua",
        (f"n{run_tag}", str(seeded.fifty_root_comment_id)),
    )  # fmt: skip
    reads = wrk_command(nginx.url + PAGE, options.duration, options.connections)
    with ThreadPoolExecutor(max_workers=2) as pool:
        flood = pool.submit(run_wrk, posts)
        readers = pool.submit(run_wrk, reads)
        return readers.result(), flood.result()


def measure_behind_nginx(
    server: Server, seeded: seed.Seeded, options: argparse.Namespace, workdir: Path
) -> list[EndpointResult]:
    """The rows for the blog behind nginx (``server`` is the blog's gunicorn, already up)."""
    missing = nginx_missing()
    if missing:
        return [EndpointResult("post through nginx", "GET", PAGE, None, note=f"n/a: {missing}")]
    static = workdir / "nginx-static"
    shutil.rmtree(static, ignore_errors=True)
    shutil.copytree(ROOT / "static", static)
    workers = len(os.sched_getaffinity(0))
    with run_nginx(workdir / "nginx", [f"127.0.0.1:{server.port}"], static, workers) as nginx:
        (static / STATIC_COPY).write_bytes(_page_bytes(nginx.url + PAGE))
        page, copy = _side_by_side(nginx.url + PAGE, nginx.url + f"/static/{STATIC_COPY}", options)
        readers, flood = _readers_during_flood(nginx, seeded, options)
    share = page.rps / copy.rps if copy.rps else 0.0
    verdict = "ok" if share >= 0.8 else "below the 80% target"
    p99 = "ok" if readers.p99_ms < 50 else "over the 50 ms target"
    return [
        EndpointResult("post, 50 comments, via nginx", "GET", PAGE, page,
                       note=f"{share:.0%} of the static file ({verdict})"),
        EndpointResult("same bytes, static via nginx", "GET", f"/static/{STATIC_COPY}", copy),
        EndpointResult("post via nginx, POST flood", "GET", PAGE, readers,
                       note=f"readers' p99 {readers.p99_ms:.1f} ms ({p99})"),
        EndpointResult("comment POSTs via nginx", "POST", f"{PAGE}comments", flood,
                       note="the flood, at once with the row above"),
    ]  # fmt: skip
