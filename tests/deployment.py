"""The production path on loopback for the deploy tests: gunicorn with deploy/gunicorn.conf.py
running the app as systemd would (``app:app``, configured by ``BLOG_*`` variables), the shipped
nginx site in front (bench/nginx.py), and a small HTTP client that sends exactly the headers a
test gives it (a forged Host, underscores) and keeps cookies like a browser.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.load import stop_process_group
from bench.nginx import ROOT, SERVER_NAME, free_port, wait_for_port

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
SITE_URL = f"http://{SERVER_NAME}"


def app_environment(database_url: str, secret_key: str, redis_url: str | None) -> dict[str, str]:
    """What /etc/blog/env holds in production (docs/production.md), for these tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOG_")}
    env.update(
        BLOG_DATABASE_URL=database_url,
        BLOG_SECRET_KEY=secret_key,
        BLOG_SITE_URL=SITE_URL,
        BLOG_PROXY_COUNT="1",
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["BLOG_REDIS_URL"] = redis_url
    return env


@contextmanager
def run_gunicorn(env: dict[str, str], log: Path, workers: int = 2) -> Iterator[str]:
    """gunicorn -c deploy/gunicorn.conf.py blog.wsgi:app on a free loopback port; yields
    "host:port"."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "2", "blog.wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(port, process, "gunicorn", log)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process_group(process, grace=20)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def cache(self) -> str:
        """nginx's X-Cache-Status (HIT, MISS, BYPASS, EXPIRED, STALE, UPDATING ...), or ""."""
        return self.headers.get("X-Cache-Status", "")


def fetch(
    base: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Answer:
    """One request, exactly these headers (Host defaults to the site's name), no redirects."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": SERVER_NAME, **(headers or {})}
        if body or method == "POST":
            sent.setdefault("Content-Length", str(len(body)))
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class Browser:
    """A reader: keeps the cookies it is given, sends them back, nothing else."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Answer:
        sent = {**self.default_headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        answer = fetch(self.base, method, path, sent, body)
        for line in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, **headers)

    def post(self, path: str, form: dict[str, str], **headers: str) -> Answer:
        return self.request("POST", path, form, **headers)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((found.get("action", ""), {}))
        elif tag in {"input", "textarea"} and self.forms and found.get("name"):
            kept = found.get("type") not in {"checkbox", "submit"}
            self.forms[-1][1].update({found["name"]: found.get("value", "")} if kept else {})


def form_fields(page: str, action: str) -> dict[str, str]:
    """The named fields (hidden ones included) of the first form whose action contains
    ``action``, with the values the page gives them."""
    parser = _Forms()
    parser.feed(page)
    for form_action, fields in parser.forms:
        if action in form_action:
            return dict(fields)
    raise AssertionError(f"no form posting to {action!r} on the page")


def sign_in(browser: Browser, username: str, password: str) -> None:
    page = browser.get("/login").text
    fields = form_fields(page, "/login")
    answer = browser.post("/login", {**fields, "username": username, "password": password})
    assert answer.status == 303, answer.text[:500]


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def within(seconds: float, check: Callable[[], bool], every: float = 0.25) -> bool:
    """Whether ``check()`` becomes true within ``seconds`` (asked again every ``every`` s)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


def shared_freshness(cache_control: str) -> tuple[int, int]:
    """(s-maxage, stale-while-revalidate) of a public answer's Cache-Control."""
    values = dict(re.findall(r"([a-z-]+)=(\d+)", cache_control))
    return int(values.get("s-maxage", 0)), int(values.get("stale-while-revalidate", 0))
