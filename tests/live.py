"""A live server and a real browser (Debian's chromium driven by playwright) for end-to-end tests.

Browser tests run on SQLite only (the database layer is covered on both databases elsewhere) and
are skipped when /usr/bin/chromium is absent; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from blog import create_app
from blog.extensions import db

CHROMIUM = os.environ.get("BLOG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class LiveServer:
    app: Flask
    url: str

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real app (CSRF on) served on a free loopback port from a thread."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite3'}",
            "SECRET_KEY": "live-test-secret",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class PageWatch:
    """What a page did that it should not: dialogs (alert/confirm/prompt), errors, CSP reports."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a script ran: {self.dialogs}"
        assert self.page_errors == [], self.page_errors
        assert self.csp_violations == [], self.csp_violations


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    """A fresh browser context and page, watched for dialogs, errors and CSP violations."""
    context = browser.new_context()
    new_page = context.new_page()
    watch = PageWatch()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    new_page.on("dialog", on_dialog)
    new_page.on(
        "console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None
    )
    new_page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    try:
        yield new_page, watch
    finally:
        context.close()
