"""The shipped deploy/ through the real nginx: deploy/nginx/blog.conf (only its CHANGE lines set
by bench.nginx.render_site) in front of gunicorn with deploy/gunicorn.conf.py, the app configured
as in production (BLOG_PROXY_COUNT=1, BLOG_SITE_URL, CSRF and rate limits on).

One nginx and one gunicorn serve the whole module (one xdist group, so `make test` starts them
once). SQLite only: the several-hosts test runs the
same path on PostgreSQL and Redis.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from PIL import Image

from bench.nginx import ROOT, nginx_missing, run_nginx
from blog import create_app
from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import CommentStatus, Role
from blog.posts import media
from tests import factories
from tests.deployment import (
    Answer,
    Browser,
    app_environment,
    csrf_token,
    fetch,
    form_fields,
    run_gunicorn,
    shared_freshness,
    sign_in,
    within,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deploy-nginx")]

ADMIN = "deploy-admin"
ADMIN_NAME = "Ada Moderator"


@dataclass(frozen=True)
class Site:
    url: str  # nginx
    direct: str  # gunicorn, behind nginx's back (to compare)
    approval_slug: str
    private_slug: str
    held_id: int
    held_text: str
    api_token: str
    media_key: str
    media_dir: Path

    def reader(self) -> Browser:
        return Browser(self.url)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """A cookieless GET through nginx."""
        return fetch(self.url, "GET", path, headers)


def seed(database_url: str, secret: str, instance: Path, media_dir: Path) -> dict[str, object]:
    """Migrate an empty database (flask db upgrade) and add what the tests read."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret, "MEDIA_PATH": media_dir},
        instance_path=str(instance),
    )
    try:
        with app.app_context():
            upgrade()
            factories.make_user(Role.ADMIN, username=ADMIN, display_name=ADMIN_NAME)
            author = factories.make_user(Role.AUTHOR, display_name="Pat Author")
            approval = factories.make_post(author, title="Approval through nginx")
            private = factories.make_post(author, title="Private things")
            held_text = f"Held until approved {secrets.token_hex(4)}"
            earlier = datetime.now(UTC) - timedelta(hours=1)  # no flood rule for later replies
            held = factories.make_comment(
                approval, held_text, status=CommentStatus.PENDING, created_at=earlier
            )
            factories.make_comment(private, "An approved reply.", created_at=earlier)
            token = create_token(ADMIN, "deploy test").secret
            picture = media.store_image(
                png_bytes(640, 480), "seed.png", "A seed", None, media.limits()
            )
            return {
                "media_key": picture.key,
                "approval_slug": approval.slug,
                "private_slug": private.slug,
                "held_id": held.id,
                "held_text": held_text,
                "api_token": token,
            }
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            app.extensions["blog_read_engine"].dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    missing = nginx_missing()
    if missing:
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("deploy")
    secret = secrets.token_hex(32)
    database_url = f"sqlite:///{folder / 'blog.sqlite3'}"
    media_dir = folder / "media"
    seeded = seed(database_url, secret, folder / "instance", media_dir)
    env = app_environment(database_url, secret, redis_url=None)
    env["BLOG_MEDIA_PATH"] = str(media_dir)
    with (
        run_gunicorn(env, folder / "gunicorn.log") as upstream,
        run_nginx(folder / "nginx", [upstream], ROOT / "static", media_dir=media_dir) as nginx,
    ):
        yield Site(nginx.url, f"http://{upstream}", **seeded, media_dir=media_dir)  # type: ignore[arg-type]


def test_an_approval_reaches_a_cookieless_reader_within_the_documented_freshness(
    site: Site,
) -> None:
    path = f"/blog/{site.approval_slug}/"
    first, kept = site.get(path), site.get(path)
    assert first.status == kept.status == 200
    assert kept.cache == "HIT", "nginx did not keep the cookieless post page"
    assert site.held_text not in kept.text
    fresh, stale = shared_freshness(kept.headers["Cache-Control"])
    assert fresh > 0, kept.headers["Cache-Control"]

    moderator = site.reader()
    sign_in(moderator, ADMIN, factories.PASSWORD)
    queue = moderator.get("/admin/comments/")
    approved = moderator.post(
        f"/admin/comments/{site.held_id}/approve", {"csrf_token": csrf_token(queue.text)}
    )
    assert approved.status in (302, 303), approved.text[:300]

    assert within(fresh + stale, lambda: site.held_text in site.get(path).text), (
        f"the approved comment did not reach a cookieless reader within {fresh + stale} s"
    )


def test_a_signed_in_page_and_its_token_never_reach_another_reader(site: Site) -> None:
    path = f"/blog/{site.private_slug}/"
    moderator = site.reader()
    sign_in(moderator, ADMIN, factories.PASSWORD)
    own = moderator.get(path)
    assert own.status == 200 and own.cache == "BYPASS"
    assert "private" in own.headers["Cache-Control"]
    token = csrf_token(own.text)
    for _ in range(2):  # the second would be answered from the cache
        other = site.get(path)
        assert other.status == 200
        assert token not in other.text and ADMIN_NAME not in other.text
        assert "csrf_token" not in other.text
    logins = [site.get("/login") for _ in range(2)]
    assert all(answer.cache != "HIT" for answer in logins)
    assert csrf_token(logins[0].text) != csrf_token(logins[1].text)


def test_a_held_comment_and_typed_values_never_reach_another_reader(site: Site) -> None:
    path = f"/blog/{site.private_slug}/"
    commenter = site.reader()
    fields = form_fields(commenter.get(path).text, "/comments")
    mine = f"My own held reply {secrets.token_hex(4)}"
    form = {**fields, "name": "Cora Commenter", "email": "cora@example.com", "body": mine}
    posted = commenter.post(f"{path}comments", form)
    assert posted.status in (302, 303), posted.text[:500]
    assert commenter.cookies, "the commenter was given no cookie to see their held comment"
    own = commenter.get(path)
    assert mine in own.text and own.cache == "BYPASS"
    assert "private" in own.headers["Cache-Control"]

    typed = f"Typed but refused {secrets.token_hex(4)}"
    refused = site.reader().post(
        f"{path}comments", {**fields, "name": "Rex", "email": "not-an-address", "body": typed}
    )
    assert refused.status == 400 and typed in refused.text  # the reader's text is kept
    for _ in range(2):
        other = site.get(path)
        assert other.status == 200 and "An approved reply." in other.text
        assert mine not in other.text and typed not in other.text
        assert "cora@example.com" not in other.text


FORGERIES = [
    {"Host": "evil.example"},
    {"X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443", "X-Forwarded-Server": "evil"},
    {"X-Forwarded-Prefix": "/evil"},
    {"SCRIPT_NAME": "/evil"},
    {"Script-Name": "/evil"},
    {"X-Forwarded-For": "203.0.113.66, evil"},
    {"Forwarded": "for=203.0.113.66;host=evil.example;proto=https"},
    {"X-Original-URL": "/evil", "X-Rewrite-URL": "/evil"},
    {"X-Request-ID": "evil-request-id"},
]


def _normalized(answer: Answer, probe: str) -> str:
    return answer.text.replace(probe, "PROBE")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_forged_headers_and_head_requests_change_nothing_for_other_readers(
    site: Site, method: str
) -> None:
    path = f"/blog/{site.private_slug}/"
    baseline = site.get(f"{path}?probe=clean")
    assert baseline.status == 200
    for number, forged in enumerate(FORGERIES):
        probe = f"probe={method}{number}"
        first = fetch(site.url, method, f"{path}?{probe}", forged)  # fills the cache
        assert first.status == 200, (forged, first.status)
        assert b"evil" not in first.body
        later = site.get(f"{path}?{probe}")
        assert later.cache == "HIT", forged
        assert not [value for value in later.headers.values() if "evil" in value], forged
        assert _normalized(later, probe) == _normalized(baseline, "probe=clean"), forged


def test_admin_pages_and_authenticated_api_answers_are_never_kept(site: Site) -> None:
    moderator = site.reader()
    sign_in(moderator, ADMIN, factories.PASSWORD)
    for _ in range(2):
        admin = moderator.get("/admin/comments/")
        assert admin.status == 200 and admin.cache == "BYPASS"
        assert "public" not in admin.headers.get("Cache-Control", "")
        anonymous = site.get("/admin/comments/")
        assert anonymous.status in (302, 303, 401, 403) and anonymous.cache != "HIT"

    bearer = {"Authorization": f"Bearer {site.api_token}"}
    queue = "/api/v1/moderation/comments"
    for _ in range(2):
        assert site.get(queue, bearer).status == 200
        refused = site.get(queue)
        assert refused.status == 401 and refused.cache != "HIT"
    # A public API answer fetched with credentials is not stored for the next reader.
    public = f"/api/v1/posts/{site.private_slug}/comments?after=bearer"
    assert site.get(public, bearer).cache == "BYPASS"
    assert site.get(public).cache == "MISS"


def test_static_files_are_served_by_nginx_with_long_lived_headers(site: Site) -> None:
    page = site.get("/").text
    match = re.search(r'href="(?:http://[^/"]+)?(/static/style\.css\?v=[0-9a-f]+)"', page)
    assert match, "the stylesheet's URL has no fingerprint"
    answer = site.get(match.group(1))
    assert answer.status == 200
    assert answer.body == (ROOT / "static" / "style.css").read_bytes()
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "X-Cache-Status" not in answer.headers  # nginx answered; gunicorn never saw it


def png_bytes(width: int, height: int, noise: bool = False) -> bytes:
    """A PNG; with ``noise``, of random pixels (it compresses to about 3 bytes a pixel)."""
    pixels = secrets.token_bytes(width * height * 3) if noise else bytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "PNG")
    return out.getvalue()


def test_media_files_are_served_by_nginx_from_the_media_folder(site: Site) -> None:
    answer = site.get(f"/media/{site.media_key}")
    assert answer.status == 200
    assert answer.body == (site.media_dir / site.media_key).read_bytes()
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Cache-Status" not in answer.headers  # nginx answered; gunicorn never saw it
    # The app's own /media/ view answers the same file with the same headers.
    direct = fetch(site.direct, "GET", f"/media/{site.media_key}")
    assert direct.body == answer.body
    assert direct.headers["Cache-Control"] == answer.headers["Cache-Control"]
    assert site.get("/media/ab/../../blog.sqlite3").status == 404


def test_an_upload_larger_than_other_bodies_reaches_the_app_and_is_served(site: Site) -> None:
    admin = site.reader()
    sign_in(admin, ADMIN, factories.PASSWORD)
    token = csrf_token(admin.get("/admin/media/").text)
    image = png_bytes(1200, 1000, noise=True)
    assert 2 * 1024 * 1024 < len(image) < 10 * 1024 * 1024  # over nginx's 1 MiB elsewhere
    boundary = secrets.token_hex(8)
    body = multipart(boundary, {"csrf_token": token, "alt_text": "Noise"}, ("noise.png", image))
    answer = fetch(
        site.url,
        "POST",
        "/admin/media/upload",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
            "Cookie": "; ".join(f"{k}={v}" for k, v in admin.cookies.items()),
        },
        body,
    )
    assert answer.status == 201, answer.text[:500]
    url = json.loads(answer.body)["url"]
    served = site.get(url)
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(served.body)).size == (1200, 1000)


def multipart(boundary: str, fields: dict[str, str], file: tuple[str, bytes]) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    name, data = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_a_header_with_an_underscore_is_dropped_and_large_bodies_stop_at_nginx(
    site: Site,
) -> None:
    path = f"/blog/{site.private_slug}/"
    probe = fetch(site.url, "GET", f"{path}?probe=underscore", {"SCRIPT_NAME": "/evil"})
    assert probe.status == 200 and b"/evil" not in probe.body
    too_big = fetch(
        site.url,
        "POST",
        f"{path}comments",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"body=" + b"x" * (2 * 1024 * 1024),
    )
    assert too_big.status == 413
    assert "nginx" in too_big.headers.get("Server", "")


def test_slow_request_bodies_wait_in_nginx_not_in_the_workers(site: Site) -> None:
    """More clients trickling a body than gunicorn has threads (2 workers x 2 threads here):
    nginx reads the bodies itself, so other readers are still answered at once."""
    path = f"/blog/{site.private_slug}/comments"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: blog.example.com\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nbody="
    ).encode()
    port = int(site.url.rsplit(":", 1)[1])
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        for connection in slow:
            connection.sendall(head)
        started = time.monotonic()
        answer = site.get(f"/?while=slow-bodies-{secrets.token_hex(4)}")  # not in the cache
        assert answer.status == 200 and answer.cache == "MISS"
        assert time.monotonic() - started < 5
    finally:
        for connection in slow:
            connection.close()
