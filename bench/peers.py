"""``python -m bench.peers``: the blog's peers (Isso, WordPress) measured the way the blog is.

The peers are not started here: give the URL of an Isso thread's comment list and/or of a
WordPress post, already served on loopback (bench/PEERS.md says how they were installed and
seeded). This script only starts the bare Flask route (``bench.bare:bare_app()``, gunicorn
``--setting sync|gthread``, as ``python -m bench`` does), measures it, stops it, then loads
each peer endpoint with wrk: 16 connections, a 1 s warm-up, then (once the requests the
warm-up left queued are served, see ``drain``) ``--duration`` seconds. The
table has the columns of ``python -m bench``; "vs bare" is relative to the bare route of the
same run. Nothing is installed and no peer's data is cleaned up afterwards: a POST run adds
comments (Isso publishes them when its moderation is off; WordPress holds them for moderation
or refuses them), so reset the peers between runs as bench/PEERS.md shows.

Endpoints:

- Isso: ``GET /?uri=<thread>`` (the comment list JSON, the peer of
  ``/api/v1/posts/<slug>/comments``) and ``POST /new?uri=<thread>`` (JSON, a distinct author,
  email and text per request, every second one a reply to the thread's first comment).
- WordPress: the post page ``/?p=<id>``, the home page ``/`` and ``POST
  /wp-comments-post.php`` (a form like the theme's, distinct per request, every second one a
  reply to the post's first comment). WordPress as shipped refuses a second comment from one
  address within 15 s (429) and holds a new author's comment for moderation (302 either way
  when accepted); refusals are counted as errors, like every response outside 2xx/3xx.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from bench.load import (
    REQUEST_TIMEOUT_S,
    USER_AGENT,
    BenchError,
    LoadResult,
    WorkerSetting,
    add_load_options,
    check_load_options,
    probe,
    run_wrk,
    serve,
    worker_settings,
    wrk_command,
)
from bench.report import EndpointResult, Report, RunResult, format_run, markdown_table

JSON_TYPE = {"Content-Type": "application/json"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class PeerEndpoint:
    name: str
    method: str
    url: str
    script: str = "report.lua"  # a name in bench/wrk/ or an absolute path
    args: tuple[str, ...] = ()  # after the run tag
    probe_body: bytes | None = None
    probe_headers: dict[str, str] | None = None


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
        return bytes(response.read())


def isso_endpoints(thread_url: str) -> tuple[list[PeerEndpoint], str]:
    """The Isso thread's list and new-comment endpoints, and a label with Isso's version."""
    parts = urlsplit(thread_url)
    uri = parse_qs(parts.query).get("uri", [""])[0]
    if not uri:
        raise BenchError(
            f"--isso needs the thread's list URL, like .../?uri=/thread/: {thread_url}"
        )
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    try:
        listing = json.loads(fetch(thread_url))
        version = json.loads(fetch(base + "/info")).get("version", "?")
    except (OSError, ValueError) as error:
        raise BenchError(f"Isso did not answer at {thread_url}: {error}") from error
    replies = listing.get("replies") or []
    parent = str(replies[0]["id"]) if replies else ""
    probe_body = json.dumps(
        {"author": "Bench probe", "email": "probe@example.com", "text": "Benchmark probe."}
    ).encode()
    endpoints = [
        PeerEndpoint("Isso GET /?uri= (list JSON)", "GET", thread_url),
        PeerEndpoint(
            "Isso POST /new (comment)",
            "POST",
            f"{base}/new?uri={quote(uri, safe='/')}",
            "isso_comment.lua",
            (parent,),
            probe_body,
            JSON_TYPE,
        ),
    ]
    return endpoints, f"Isso {version}"


_COMMENT_ID = re.compile(rb'id="comment-(\d+)"')
_GENERATOR = re.compile(rb'<meta name="generator" content="WordPress ([^"]+)"')


def wordpress_endpoints(post_url: str) -> tuple[list[PeerEndpoint], str]:
    """The WordPress post, home page and comment form endpoints, and a label with its version."""
    parts = urlsplit(post_url)
    post_id = parse_qs(parts.query).get("p", [""])[0]
    if not post_id.isdigit():
        raise BenchError(f"--wordpress needs the post's URL, like .../?p=4: {post_url}")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    try:
        page = fetch(post_url)
    except OSError as error:
        raise BenchError(f"WordPress did not answer at {post_url}: {error}") from error
    first_comment = _COMMENT_ID.search(page)
    parent = first_comment.group(1).decode() if first_comment else ""
    generator = _GENERATOR.search(page)
    version = generator.group(1).decode() if generator else "?"
    tag = secrets.token_hex(4)
    form = {"comment_post_ID": post_id, "author": "Bench probe", "url": "",
            "email": f"probe-{tag}@example.com", "comment": f"Benchmark probe {tag}.",
            "comment_parent": "0"}  # fmt: skip
    endpoints = [
        PeerEndpoint("WP post, 50 threaded comments", "GET", post_url),
        PeerEndpoint("WP home /", "GET", base + "/"),
        PeerEndpoint(
            "WP POST wp-comments-post.php",
            "POST",
            base + "/wp-comments-post.php",
            "wordpress_comment.lua",
            (parent, post_id),
            urlencode(form).encode(),
            FORM_TYPE,
        ),
    ]
    return endpoints, f"WordPress {version}"


def drain(url: str) -> None:
    """Wait until the requests the warm-up left queued have been served.

    wrk closes its connections when the warm-up ends, but the server still works through the
    requests it had accepted (PHP-FPM and gunicorn both do): on an endpoint that serves a few
    requests a second, those 16 would take seconds of the measured run. One plain GET queued
    behind them returns once they are done (its status does not matter: a GET of a POST
    endpoint is refused, after waiting its turn). On a fast server this costs milliseconds.
    """
    probe(url)


def measure(endpoint: PeerEndpoint, options: argparse.Namespace) -> EndpointResult:
    """One request first (its status goes in the note if it is not a success), the warm-up,
    then the measured run."""
    status = probe(endpoint.url, endpoint.probe_body, endpoint.probe_headers)
    path = urlsplit(endpoint.url)
    shown = path.path + (f"?{path.query}" if path.query else "")
    if status == 404:
        return EndpointResult(endpoint.name, endpoint.method, shown, None, note="n/a: 404")
    ok = 200 <= status < 400 if endpoint.method == "POST" else status == 200
    note = "" if ok else f"first response was {status}"
    run_tag = secrets.token_hex(4)

    def command(seconds: int, tag: str) -> list[str]:
        args: Sequence[str] = (tag, *endpoint.args) if endpoint.method == "POST" else ()
        return wrk_command(endpoint.url, seconds, options.connections, endpoint.script, args)

    run_wrk(command(1, f"{run_tag}w"))
    drain(endpoint.url)
    result = run_wrk(command(options.duration, run_tag))
    return EndpointResult(endpoint.name, endpoint.method, shown, result, note=note)


def measure_bare(
    setting: WorkerSetting, options: argparse.Namespace, workdir: Path
) -> tuple[LoadResult, list[int]]:
    """The bare Flask route under ``setting``: what wrk measured and its workers' RSS (KiB)."""
    with serve("bench.bare:bare_app()", setting, {}, workdir, "/") as server:
        url = server.base_url + "/"
        run_wrk(wrk_command(url, 1, options.connections))
        drain(url)
        bare = run_wrk(wrk_command(url, options.duration, options.connections))
        return bare, server.worker_rss_kib()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers",
        description="Measure Isso and WordPress (already running on loopback) the way "
        "python -m bench measures the blog, beside a bare Flask route run in the same session.",
    )
    parser.add_argument(
        "--isso", metavar="URL", help="an Isso thread's list, e.g. http://127.0.0.1:18080/?uri=/t/"
    )
    parser.add_argument(
        "--wordpress", metavar="URL", help="a WordPress post, e.g. http://127.0.0.1:18090/?p=4"
    )
    parser.add_argument(
        "--setting",
        choices=("sync", "gthread"),
        default="sync",
        help="how gunicorn runs the bare route; say the same of Isso's gunicorn (default: sync)",
    )
    add_load_options(parser)
    parser.add_argument(
        "--no-save", action="store_true", help="do not write bench/results/peers-<time>.json"
    )
    options = parser.parse_args(argv)
    if not (options.isso or options.wordpress):
        parser.error("give --isso and/or --wordpress")
    check_load_options(parser, options)
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: sudo apt-get install wrk", file=sys.stderr)
        return 2
    setting = {s.name: s for s in worker_settings(options.workers, options.threads)}[
        options.setting
    ]
    report = Report(options=dict(vars(options)))
    with tempfile.TemporaryDirectory(prefix="blog-peers-") as tmp:
        workdir = Path(tmp)
        try:
            peers: list[tuple[str, str, list[PeerEndpoint]]] = []  # label, host, endpoints
            if options.isso:
                endpoints, label = isso_endpoints(options.isso)
                host = urlsplit(options.isso).netloc
                peers.append((f"{label} (gunicorn {setting.name})", host, endpoints))
            if options.wordpress:
                endpoints, label = wordpress_endpoints(options.wordpress)
                peers.append((label, urlsplit(options.wordpress).netloc, endpoints))
            bare, rss_bare = measure_bare(setting, options, workdir)
            for label, host, endpoints in peers:
                run = RunResult(label, host, setting, bare, [], [], rss_bare)
                for endpoint in endpoints:
                    result = measure(endpoint, options)
                    if result.result is not None and bare.rps:
                        result.ratio = result.result.rps / bare.rps
                    run.endpoints.append(result)
                report.runs.append(run)
                # format_run's first line names the bare route's gunicorn and its last one the
                # blog's worker memory: said here for the bare route alone.
                lines = format_run(run).splitlines()
                rss = ", ".join(f"{kib / 1024:.0f}" for kib in rss_bare)
                head = f"{label} at {host}; bare Flask route: {setting.command}"
                tail = f"  bare route worker RSS (MiB): {rss}\n"
                print(head, *lines[1:-1], tail, sep="\n", flush=True)
        except KeyboardInterrupt:
            print("\nInterrupted: the bare route's gunicorn has been stopped.", file=sys.stderr)
            return 130
        except BenchError as error:
            print(f"\nThe measurement failed: {error}", file=sys.stderr)
            return 1
    print(markdown_table(report))
    if not options.no_save:
        path = report.save()
        saved = path.with_name(f"peers-{path.name}")
        path.rename(saved)
        print(f"\nResults saved in {saved}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
