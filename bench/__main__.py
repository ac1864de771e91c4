"""``python -m bench``: seed a database, serve the blog and a bare Flask route with gunicorn,
load each with wrk on loopback, print the figures and save them in bench/results/.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlencode

from flask import Flask

from bench import seed
from bench.apps import (
    ENV_INSTANCE,
    ENV_PAGE_CACHE,
    ENV_REPLAY,
    ENV_SECRET_KEY,
    BenchDatabase,
    signed_in_cookie,
)
from bench.behind_nginx import measure_behind_nginx
from bench.dataset import CATEGORY_PATH, FIFTY_SLUG, MODERATOR, SIZES, Size
from bench.load import (
    USER_AGENT,
    BenchError,
    Server,
    WorkerSetting,
    add_load_options,
    check_load_options,
    probe,
    run_wrk,
    serve,
    worker_settings,
    wrk_command,
)
from bench.report import (
    EndpointResult,
    Report,
    RunResult,
    SeedResult,
    format_run,
    format_seed,
    markdown_table,
)
from blog.extensions import db

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KEPT_DIR = Path(__file__).resolve().parent / "data"
WRK_MISSING = (
    "wrk is not installed: the benchmark drives the servers with it.\n"
    "Install it with:  sudo apt-get install wrk"
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    visitor: str = "new"  # "new" (no cookie) or "moderator"


ENDPOINTS = (
    Endpoint("home /", "/"),
    Endpoint("post, 50 threaded comments", f"/blog/{FIFTY_SLUG}/"),
    Endpoint("category archive", f"/category/{CATEGORY_PATH}/"),
    Endpoint("moderation queue", "/admin/comments/", visitor="moderator"),
    Endpoint("JSON comment list", f"/api/v1/posts/{FIFTY_SLUG}/comments"),
    Endpoint("comment submission", f"/blog/{FIFTY_SLUG}/comments", method="POST"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the blog under gunicorn against a bare Flask route, with wrk.",
    )
    parser.add_argument(
        "--size",
        choices=("small", "large", "both"),
        default="small",
        help="small: 200 posts; large: 100,000 posts and 1,000,000 comments",
    )
    parser.add_argument(
        "--databases",
        default=None,
        help="comma-separated: sqlite,postgresql (default: sqlite, plus "
        "postgresql when --postgres or BLOG_BENCH_DATABASE_URL is given)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help=f"PostgreSQL URL (default: $BLOG_BENCH_DATABASE_URL or {DEFAULT_POSTGRES})",
    )
    add_load_options(parser)
    parser.add_argument("--quick", action="store_true", help="2 s per endpoint")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded databases and reuse them when they still match",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed (and time it), no load")
    parser.add_argument(
        "--no-page-cache",
        action="store_true",
        help="serve the blog with its in-process page store off (PAGE_CACHE = False)",
    )
    parser.add_argument(
        "--no-replay",
        action="store_true",
        help="serve the blog without the replay before Flask (PAGE_REPLAY_SECONDS = 0)",
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.duration = 2
    check_load_options(parser, options)
    env_url = os.environ.get("BLOG_BENCH_DATABASE_URL")
    options.postgres = options.postgres or env_url or None
    if options.databases is None:
        options.databases = "sqlite,postgresql" if options.postgres else "sqlite"
    options.databases = [d.strip() for d in options.databases.split(",") if d.strip()]
    unknown = set(options.databases) - {"sqlite", "postgresql"}
    if unknown or not options.databases:
        parser.error(f"--databases takes sqlite and/or postgresql, not {', '.join(unknown)}")
    options.postgres = options.postgres or DEFAULT_POSTGRES
    return options


def bench_database(
    kind: str, size: Size, options: argparse.Namespace, workdir: Path
) -> BenchDatabase:
    if kind == "sqlite":
        path = (KEPT_DIR if options.keep else workdir) / f"blog-{size.name}.sqlite3"
        return BenchDatabase("sqlite", f"sqlite:///{path}", path=path)
    return BenchDatabase("postgresql", options.postgres, schema=f"bench_{size.name}")


def measure_endpoint(
    server: Server,
    endpoint: Endpoint,
    seeded: seed.Seeded,
    cookies: dict[str, str],
    options: argparse.Namespace,
) -> EndpointResult:
    url = server.base_url + endpoint.path
    headers = {"Cookie": cookies[endpoint.visitor]} if endpoint.visitor in cookies else {}
    run_tag = secrets.token_hex(4)
    if endpoint.method == "POST":
        form = {"name": "Bench probe", "email": f"probe-{run_tag}@example.com", "url": "",
                "body": f"Benchmark probe {run_tag}.", "parent_id": ""}  # fmt: skip
        status = probe(url, urlencode(form).encode(), FORM)
    else:
        status = probe(url, headers=headers)
    if status == 404:
        return EndpointResult(endpoint.name, endpoint.method, endpoint.path, None,
                              note="n/a: 404, not built yet")  # fmt: skip
    ok = 200 <= status < 400 if endpoint.method == "POST" else status == 200
    note = "" if ok else f"first response was {status}"
    script, args = "report.lua", ()
    if endpoint.method == "POST":
        script, args = "comment.lua", (run_tag, str(seeded.fifty_root_comment_id))
    warmup = wrk_command(url, 1, options.connections, script, (f"{run_tag}w", *args[1:]), headers)
    run_wrk(warmup)
    result = run_wrk(wrk_command(url, options.duration, options.connections, script, args, headers))
    return EndpointResult(endpoint.name, endpoint.method, endpoint.path, result, note=note)


def measure_setting(
    seeded: seed.Seeded,
    app: Flask,
    setting: WorkerSetting,
    options: argparse.Namespace,
    env: dict[str, str],
    workdir: Path,
) -> RunResult:
    with serve("bench.bare:bare_app()", setting, env, workdir, "/") as server:
        url = server.base_url + "/"
        run_wrk(wrk_command(url, 1, options.connections))
        bare = run_wrk(wrk_command(url, options.duration, options.connections))
        rss_bare = server.worker_rss_kib()
    cookies = {"moderator": signed_in_cookie(app, MODERATOR, USER_AGENT)}
    results: list[EndpointResult] = []
    with serve("bench.apps:blog_app()", setting, env, workdir, "/") as server:
        try:
            for endpoint in ENDPOINTS:
                results.append(measure_endpoint(server, endpoint, seeded, cookies, options))
            results += measure_behind_nginx(server, seeded, options, workdir)
            rss_blog = server.worker_rss_kib()
        finally:
            seed.discard_submitted_comments(app, seeded)
    for found in results:
        if found.result is not None and bare.rps:
            found.ratio = found.result.rps / bare.rps
    return RunResult(
        seeded.database.label, seeded.size.name, setting, bare, results, rss_blog, rss_bare
    )


def bench_one(
    kind: str, size: Size, options: argparse.Namespace, report: Report, workdir: Path
) -> None:
    database = bench_database(kind, size, options, workdir)
    secret = secrets.token_hex(32)
    instance = workdir / "instance"
    print(f"{database.label} · {size.name}: preparing the database ...", flush=True)
    try:
        seeded, app = seed.prepare(database, size, secret, instance, options.keep)
        found = SeedResult(database.label, size.name, size.posts, size.comments,
                           round(seeded.seconds, 1), seeded.reused)  # fmt: skip
        report.seeds.append(found)
        print(format_seed(found), flush=True)
        if options.seed_only:
            return
        env = {**database.environment(), ENV_SECRET_KEY: secret, ENV_INSTANCE: str(instance)}
        if options.no_page_cache:
            env[ENV_PAGE_CACHE] = "0"
        if options.no_replay:
            env[ENV_REPLAY] = "0"
        try:
            for setting in worker_settings(options.workers, options.threads):
                run = measure_setting(seeded, app, setting, options, env, workdir)
                report.runs.append(run)
                print(format_run(run), flush=True)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        if not options.keep:
            seed.drop(database)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if not options.seed_only and shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    sizes = [SIZES[s] for s in (("small", "large") if options.size == "both" else (options.size,))]
    report = Report(options={k: v for k, v in vars(options).items() if k != "postgres"})
    workdir = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    started = time.monotonic()
    code = 0
    try:
        for kind in options.databases:
            for size in sizes:
                bench_one(kind, size, options, report, workdir)
    except KeyboardInterrupt:
        print("\nInterrupted: every gunicorn started has been stopped.", file=sys.stderr)
        code = 130
    except BenchError as error:
        print(f"\nThe benchmark failed: {error}", file=sys.stderr)
        code = 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if report.runs:
        print("\n" + markdown_table(report))
    if report.seeds:
        print(f"\nResults saved in {report.save()} ({time.monotonic() - started:.0f} s in all).")
    return code


if __name__ == "__main__":
    sys.exit(main())
