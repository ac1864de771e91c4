"""Static URLs carry a digest of the file, so a proxy may keep them for a year (deploy/nginx)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, url_for
from flask.testing import FlaskClient

from blog.web.static_urls import init_app
from tests import factories


def fingerprinted_app(tmp_path: Path) -> Flask:
    site = Flask(__name__, root_path=str(tmp_path), static_folder="s", static_url_path="/static")
    (tmp_path / "s").mkdir()
    init_app(site)
    return site


def static_url(site: Flask, filename: str) -> str:
    with site.test_request_context("/"):
        return url_for("static", filename=filename)


def test_a_static_url_changes_when_its_file_changes_and_serves_the_file(tmp_path: Path) -> None:
    site = fingerprinted_app(tmp_path)
    (tmp_path / "s" / "style.css").write_text("p { color: black }")
    before = static_url(site, "style.css")
    assert re.fullmatch(r"/static/style\.css\?v=[0-9a-f]{12}", before)
    assert static_url(site, "style.css") == before
    (tmp_path / "s" / "style.css").write_text("p { color: navy }!")
    after = static_url(site, "style.css")
    assert after != before
    response = site.test_client().get(after)
    assert response.data == b"p { color: navy }!"
    response.close()


def test_a_missing_or_outside_file_gets_no_digest(tmp_path: Path) -> None:
    site = fingerprinted_app(tmp_path)
    (tmp_path / "secret.txt").write_text("not static")
    assert static_url(site, "missing.css") == "/static/missing.css"
    assert "v=" not in static_url(site, "../secret.txt")


def test_the_pages_link_their_stylesheet_and_script_by_digest(client: FlaskClient) -> None:
    post = factories.make_post()
    page = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    assert re.search(r'href="/static/style\.css\?v=[0-9a-f]{12}"', page)
    assert re.search(r'src="/static/comments\.js\?v=[0-9a-f]{12}"', page)
