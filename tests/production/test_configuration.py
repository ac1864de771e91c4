"""Every ``BLOG_*`` variable in the README's Configuration table has its effect.

The table is read from README.md. CHECKS maps each variable to a function that sets it (and only
what it needs besides) and shows what a user or operator would notice. A variable in the table
without a check fails, and so does a variable the app reads (blog.config) that the table misses.
To add a variable: a row in the README table, a name in blog/config.py, and a ``@check`` here.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from blog import config as blog_config
from blog import create_app
from blog.extensions import db
from blog.mail import outbox
from blog.models import Role
from tests import factories
from tests.commenting import post_comment
from tests.paths import README
from tests.redis_server import free_port, own_redis_server
from tests.smtp import PASSWORD, USER, Inbox, RawInbox, secure_server

TEST_KEY = "configuration-test-key"


def readme_variables() -> list[str]:
    """The ``BLOG_*`` names in the first column of the README's Configuration table."""
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names += re.findall(r"`(BLOG_[A-Z0-9_]+)`", cells[1])
    return sorted(set(names))


class Site:
    """Builds apps configured through the environment, on the test's database."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: dict[str, Any]):
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.database = database
        self.built: list[Flask] = []

    def build(self, env: dict[str, str], *, on_test_database: bool = True, **config: Any) -> Flask:
        """An app with exactly these ``BLOG_*`` variables (a secret key and an instance folder
        unless given) and the test database unless ``on_test_database`` is false."""
        for name in blog_config.variable_names():
            self.monkeypatch.delenv(name, raising=False)
        env = {"BLOG_INSTANCE_PATH": str(self.tmp_path / "instance"), **env}
        env.setdefault("BLOG_SECRET_KEY", TEST_KEY)
        for name, value in env.items():
            if value:
                self.monkeypatch.setenv(name, value)
        base = {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
        app = create_app({**base, **(self.database if on_test_database else {}), **config})
        self.built.append(app)
        with app.app_context():
            db.create_all()
        return app

    def close(self) -> None:
        for app in self.built:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
                app.extensions["blog_read_engine"].dispose()


@pytest.fixture
def site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: dict[str, Any]
) -> Iterator[Site]:
    built = Site(tmp_path, monkeypatch, database)
    yield built
    built.close()


Check = Callable[[Site], None]
CHECKS: dict[str, Check] = {}


def check(*names: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        for name in names:
            CHECKS[name] = function
        return function

    return register


def make_post(app: Flask, **user: Any) -> str:
    with app.app_context():
        author = factories.make_user(**user) if user else None
        return factories.make_post(author=author, title="Configured").slug


@check("BLOG_DATABASE_URL")
def database_url_chooses_the_database(site: Site) -> None:
    url = str(site.database["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("sqlite:"):
        path = site.tmp_path / "from-the-environment.sqlite3"
        url = f"sqlite:///{path}"
    options = {k: v for k, v in site.database.items() if k != "SQLALCHEMY_DATABASE_URI"}
    app = site.build({"BLOG_DATABASE_URL": url}, on_test_database=False, **options)
    slug = make_post(app)
    assert app.test_client().get(f"/blog/{slug}/").status_code == 200
    with app.app_context():
        assert db.engine.url.render_as_string(hide_password=False) == url
    if url.startswith("sqlite:"):
        assert path.stat().st_size > 0


def signed_in_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    form = {"username": "keyholder", "password": factories.PASSWORD}
    assert client.post("/login", data=form).status_code == 303
    return client


def admin_status(app: Flask, cookie: str) -> int:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/admin/").status_code


@check("BLOG_SECRET_KEY")
def secret_key_signs_sessions(site: Site) -> None:
    first = site.build({"BLOG_SECRET_KEY": "one key"})
    make_post(first, username="keyholder", role=Role.ADMIN)
    cookie = signed_in_client(first).get_cookie("session")
    assert cookie is not None
    assert admin_status(site.build({"BLOG_SECRET_KEY": "one key"}), cookie.value) == 200
    assert admin_status(site.build({"BLOG_SECRET_KEY": "another key"}), cookie.value) == 302
    assert not (site.tmp_path / "instance" / "secret_key").exists()


@check("BLOG_INSTANCE_PATH")
def instance_path_holds_database_key_and_config(site: Site) -> None:
    folder = site.tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "config.py").write_text("MAIL_FROM = 'from-instance-config@blog.example'\n")
    env = {"BLOG_INSTANCE_PATH": str(folder), "BLOG_SECRET_KEY": ""}
    app = site.build(env, on_test_database=False)
    assert Path(app.instance_path) == folder
    assert app.config["MAIL_FROM"] == "from-instance-config@blog.example"
    assert app.test_client().get(f"/blog/{make_post(app)}/").status_code == 200
    assert (folder / "blog.sqlite3").stat().st_size > 0  # the embedded database
    assert (folder / "secret_key").read_text().strip()


@check("BLOG_REDIS_URL")
def redis_url_keeps_pages_and_limits_in_redis(site: Site) -> None:
    redis = pytest.importorskip("redis")
    with own_redis_server() as server:
        app = site.build({"BLOG_REDIS_URL": server.url}, RATELIMIT_ENABLED=True)
        slug = make_post(app, username="ann")
        assert app.test_client().get(f"/blog/{slug}/").status_code == 200
        assert post_comment(app.test_client(), slug).status_code == 303
        client = redis.Redis.from_url(server.url)
        assert client.keys("blog:page:*"), "no page kept in Redis"
        assert client.keys("LIMITS:*"), "the comment rate limit counted nothing in Redis"
        client.close()


@check("BLOG_MAIL_SERVER", "BLOG_MAIL_PORT", "BLOG_MAIL_FROM")
def mail_goes_to_that_server_and_port_from_that_address(site: Site) -> None:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    inbox, port = Inbox(), free_port()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {"BLOG_MAIL_SERVER": "127.0.0.1", "BLOG_MAIL_PORT": str(port)}
        app = site.build({**env, "BLOG_MAIL_FROM": "notices@blog.example"})
        slug = make_post(app, role=Role.ADMIN, email="admin@blog.example")
        assert post_comment(app.test_client(), slug).status_code == 303  # held: mail the admin
        outbox.wait_for_mail(timeout=10)
    finally:
        controller.stop()
    assert [m["From"] for _, m in inbox.messages] == ["notices@blog.example"]


@check("BLOG_MAIL_SECURITY", "BLOG_MAIL_USERNAME", "BLOG_MAIL_PASSWORD")
def mail_logs_in_over_starttls_with_that_account(site: Site) -> None:
    """A server that takes mail only after STARTTLS and a login: with the three variables the
    notification arrives, sent by that account; with a wrong password it waits in the outbox."""
    ca = trustme.CA()
    ca_file = site.tmp_path / "mail-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = RawInbox()
    with secure_server(inbox, ca) as port:
        env = {"BLOG_MAIL_SERVER": "127.0.0.1", "BLOG_MAIL_PORT": str(port)}
        login = {"BLOG_MAIL_USERNAME": USER, "BLOG_MAIL_PASSWORD": PASSWORD}
        env = {**env, **login, "BLOG_MAIL_SECURITY": "starttls"}
        app = site.build(env, MAIL_CA_FILE=str(ca_file))
        slug = make_post(app, role=Role.ADMIN, email="admin@blog.example")
        assert post_comment(app.test_client(), slug).status_code == 303  # held: mail the admin
        outbox.wait_for_mail(timeout=10)
    assert inbox.logins == [USER]


@check("BLOG_LOG_FORMAT")
def log_format_json_writes_one_json_line_per_request(site: Site) -> None:
    app = site.build({"BLOG_LOG_FORMAT": "json"})
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("blog.request")
    logger.addHandler(handler)
    try:
        app.test_client().get("/healthz")
    finally:
        logger.removeHandler(handler)
    [line] = [json.loads(record.getMessage()) for record in records]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)


@check("BLOG_SITE_URL")
def site_url_makes_the_absolute_links_and_secure_cookies(site: Site) -> None:
    app = site.build({"BLOG_SITE_URL": "https://blog.example.org"})
    slug = make_post(app, username="keyholder")
    feed = app.test_client().get("/feed/", base_url="http://internal:8000/").text
    assert f"https://blog.example.org/blog/{slug}/" in feed
    assert "internal:8000" not in feed
    form = {"username": "keyholder", "password": factories.PASSWORD}
    signed_in = app.test_client().post("/login", data=form)
    assert "; Secure" in signed_in.headers["Set-Cookie"]


def proxied_reader(app: Flask, proxy: str) -> Callable[[str], FlaskClient]:
    def from_address(address: str) -> FlaskClient:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = proxy
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    return from_address


def limits_by_address(app: Flask, proxy: str) -> tuple[int, int]:
    """Two readers behind one proxy: the second's comment and sign-in after the first's."""
    reader = proxied_reader(app, proxy)
    slug = make_post(app, username=f"user-{proxy}")
    assert post_comment(reader("192.0.2.1"), slug).status_code == 303
    second_comment = post_comment(reader("192.0.2.2"), slug).status_code
    wrong = {"username": f"user-{proxy}", "password": "wrong"}
    assert reader("192.0.2.1").post("/login", data=wrong).status_code == 400
    right = {"username": f"user-{proxy}", "password": factories.PASSWORD}
    return second_comment, reader("192.0.2.2").post("/login", data=right).status_code


@check("BLOG_PROXY_COUNT")
def proxy_count_lets_the_limits_see_each_reader(site: Site) -> None:
    limits = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1 per hour"}
    behind_proxy = site.build({"BLOG_PROXY_COUNT": "1"}, **limits)
    assert limits_by_address(behind_proxy, "10.9.9.1") == (303, 303)
    # Not trusted: every reader is the proxy, so the flood rule and the limit lump them together.
    direct = site.build({"BLOG_PROXY_COUNT": "0"}, **limits)
    assert limits_by_address(direct, "10.9.9.2") == (429, 429)


@check("BLOG_API_CORS_ORIGINS")
def api_cors_origins_open_the_api_to_those_pages(site: Site) -> None:
    app = site.build({"BLOG_API_CORS_ORIGINS": "https://reader.example"})
    client = app.test_client()
    allowed = client.get("/api/v1/posts", headers={"Origin": "https://reader.example"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://reader.example"
    other = client.get("/api/v1/posts", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def upload_status(client: FlaskClient, data: bytes) -> int:
    form = {"file": (io.BytesIO(data), "picture.png"), "alt_text": "A picture"}
    return client.post(
        "/admin/media/upload", data=form, content_type="multipart/form-data"
    ).status_code


@check("BLOG_MEDIA_PATH", "BLOG_MEDIA_MAX_BYTES", "BLOG_MEDIA_MAX_PIXELS")
def media_path_and_limits_govern_uploads(site: Site) -> None:
    folder = site.tmp_path / "uploads"
    limits = {"BLOG_MEDIA_MAX_BYTES": "20000", "BLOG_MEDIA_MAX_PIXELS": "10000"}
    app = site.build({"BLOG_MEDIA_PATH": str(folder), **limits})
    make_post(app, username="keyholder", role=Role.ADMIN)
    client = signed_in_client(app)
    assert upload_status(client, factories.image_bytes(100, 100)) == 303
    assert len([p for p in folder.rglob("*.png") if p.is_file()]) == 1
    assert upload_status(client, factories.image_bytes(101, 100)) == 413  # 10,100 pixels
    noise = io.BytesIO()
    Image.frombytes("RGB", (90, 90), secrets.token_bytes(90 * 90 * 3)).save(noise, "PNG")
    assert len(noise.getvalue()) > 20000
    assert upload_status(client, noise.getvalue()) == 413  # 8,100 pixels but 24 kB


def test_the_readme_table_lists_every_variable_the_app_reads() -> None:
    missing = blog_config.variable_names() - set(readme_variables())
    assert not missing, f"read by blog/config.py but not in README's Configuration table: {missing}"


@pytest.mark.parametrize("name", readme_variables())
def test_each_variable_in_the_readme_table_has_its_effect(name: str, site: Site) -> None:
    if name not in CHECKS:
        pytest.fail(f"{name} is in README's Configuration table but has no check here")
    CHECKS[name](site)


def test_a_database_server_without_a_secret_key_refuses_to_start(
    site: Site, tmp_path: Path
) -> None:
    server = "postgresql+psycopg://blog@127.0.0.1:5432/blog"
    with pytest.raises(blog_config.ConfigurationError, match="BLOG_SECRET_KEY is required"):
        site.build({"BLOG_DATABASE_URL": server, "BLOG_SECRET_KEY": ""}, on_test_database=False)
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_a_proxy_count_that_is_not_a_number_is_refused_with_its_name(site: Site) -> None:
    with pytest.raises(blog_config.ConfigurationError, match="BLOG_PROXY_COUNT must be"):
        site.build({"BLOG_PROXY_COUNT": "two"})
