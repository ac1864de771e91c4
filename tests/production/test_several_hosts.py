"""Several app hosts: two gunicorn instances (deploy/gunicorn.conf.py, as two hosts would run them)
on one PostgreSQL database and one Redis, both upstreams of the shipped nginx site.

What one host learns, the other knows: approvals, sessions (and their end), the sign-in and
comment rate limits (Redis), the flood rule (the database), the rendered-page cache (Redis).
Each test speaks to the hosts directly as nginx would (X-Forwarded-For names the reader, a fresh
address per test, so counts left in Redis by earlier runs never matter), and through nginx.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bench.nginx import ROOT, nginx_missing, run_nginx
from blog import create_app
from blog.cache.replay import REPLAY_SECONDS
from blog.extensions import db
from blog.models import CommentStatus, Role
from blog.settings import save_settings
from tests import factories
from tests.deployment import (
    Browser,
    app_environment,
    csrf_token,
    form_fields,
    run_gunicorn,
    sign_in,
    within,
)
from tests.services import PG_SKIP_REASON, PG_URL

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("several-hosts")]

REDIS_URL = os.environ.get("BLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ADMIN = "hosts-admin"


@dataclass
class Hosts:
    a: str
    b: str
    nginx: str
    app: Flask  # on the same database, for the test's own reads and settings
    slug: str
    held_id: int
    held_text: str

    def reader(self, host: str, address: str) -> Browser:
        """A browser talking to one host as nginx forwards it: from ``address``."""
        browser = Browser(host)
        browser.default_headers = {"X-Forwarded-For": address}
        return browser


def fresh_address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def reachable() -> str | None:
    """Why the test cannot run here, or None."""
    if not PG_URL:
        return f"PostgreSQL is needed for several hosts: {PG_SKIP_REASON}"
    if not REDIS_URL:
        return "BLOG_TEST_REDIS_URL is not set (Redis is needed for several hosts)"
    engine = create_engine(PG_URL)
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        return f"PostgreSQL is unreachable: {error}"
    finally:
        engine.dispose()
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"Redis is unreachable: {error}"
    finally:
        client.close()
    return nginx_missing()


@pytest.fixture(scope="module")
def schema_url() -> Iterator[str]:
    why = reachable()
    if why:
        pytest.skip(why)
    schema = f"hosts_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def hosts(schema_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    folder = tmp_path_factory.mktemp("hosts")
    secret = secrets.token_hex(32)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": schema_url, "SECRET_KEY": secret},
        instance_path=str(folder / "instance"),
    )
    with app.app_context():
        upgrade()
        factories.make_user(Role.ADMIN, username=ADMIN)
        post = factories.make_post(title="Two hosts, one blog")
        held_text = f"Approved on one host {secrets.token_hex(4)}"
        earlier = datetime.now(UTC) - timedelta(hours=1)
        held = factories.make_comment(post, held_text, CommentStatus.PENDING, created_at=earlier)
        slug, held_id = post.slug, held.id
        db.session.remove()
    env = app_environment(schema_url, secret, REDIS_URL)
    try:
        with (
            run_gunicorn(env, folder / "a.log", workers=1) as a,
            run_gunicorn(env, folder / "b.log", workers=1) as b,
            run_nginx(folder / "nginx", [a, b], ROOT / "static") as nginx,
        ):
            yield Hosts(f"http://{a}", f"http://{b}", nginx.url, app, slug, held_id, held_text)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            app.extensions["blog_read_engine"].dispose()


def test_an_approval_through_one_host_is_seen_through_the_other_and_through_nginx(
    hosts: Hosts,
) -> None:
    path = f"/blog/{hosts.slug}/"
    address = fresh_address()
    for host in (hosts.a, hosts.b):  # both have rendered (and cached) the page before
        assert hosts.held_text not in hosts.reader(host, address).get(path).text
    moderator = hosts.reader(hosts.a, address)
    sign_in(moderator, ADMIN, factories.PASSWORD)
    queue = moderator.get("/admin/comments/")
    approve = {"csrf_token": csrf_token(queue.text)}
    assert moderator.post(f"/admin/comments/{hosts.held_id}/approve", approve).status == 303
    # Host b may replay the page it answered for up to PAGE_REPLAY_SECONDS (docs/caching.md).
    on_b = hosts.reader(hosts.b, address)
    assert within(REPLAY_SECONDS + 1, lambda: hosts.held_text in on_b.get(path).text)
    through_nginx = Browser(hosts.nginx)
    assert within(60, lambda: hosts.held_text in through_nginx.get(path).text)


def test_a_session_made_on_one_host_works_and_ends_on_the_other(hosts: Hosts) -> None:
    address = fresh_address()
    on_a = hosts.reader(hosts.a, address)
    sign_in(on_a, ADMIN, factories.PASSWORD)
    on_b = hosts.reader(hosts.b, address)
    on_b.cookies = dict(on_a.cookies)
    dashboard = on_b.get("/admin/comments/")
    assert dashboard.status == 200
    signed_out = on_b.post("/logout", {"csrf_token": csrf_token(dashboard.text)})
    assert signed_out.status in (302, 303)
    copied = hosts.reader(hosts.a, address)
    copied.cookies = dict(on_a.cookies)  # the cookie from before signing out
    assert copied.get("/admin/comments/").status in (302, 303, 401)


def test_the_sign_in_limit_is_shared_by_the_hosts(hosts: Hosts) -> None:
    address = fresh_address()
    for attempt in range(5):  # DEFAULT_LOGIN_RATE_LIMIT: five failures a minute
        reader = hosts.reader((hosts.a, hosts.b)[attempt % 2], address)
        fields = form_fields(reader.get("/login").text, "/login")
        wrong = reader.post("/login", {**fields, "username": ADMIN, "password": "wrong"})
        assert wrong.status == 400
    reader = hosts.reader(hosts.b, address)
    fields = form_fields(reader.get("/login").text, "/login")
    right = reader.post("/login", {**fields, "username": ADMIN, "password": factories.PASSWORD})
    assert right.status == 429
    elsewhere = hosts.reader(hosts.a, fresh_address())
    sign_in(elsewhere, ADMIN, factories.PASSWORD)  # another reader's address is not limited


def test_the_flood_rule_and_the_comment_limit_are_shared_by_the_hosts(hosts: Hosts) -> None:
    path = f"/blog/{hosts.slug}/"
    address = fresh_address()

    def reply(host: str, body: str) -> int:
        reader = hosts.reader(host, address)
        fields = form_fields(reader.get(path).text, "/comments")
        form = {**fields, "name": "Fay Flood", "email": "fay@example.com", "body": body}
        return reader.post(f"{path}comments", form).status

    assert reply(hosts.a, "A first reply, on host A.") == 303
    assert reply(hosts.b, "A second reply, at once, on host B.") == 429  # flood rule

    with hosts.app.app_context():
        save_settings({"flood_interval_seconds": 0})
    try:
        address = fresh_address()
        statuses = [reply((hosts.a, hosts.b)[n % 2], "") for n in range(20)]
        assert set(statuses) == {400}  # an empty reply is refused, and counted
        assert reply(hosts.a, "The twenty-first within a minute.") == 429
    finally:
        with hosts.app.app_context():
            save_settings({"flood_interval_seconds": 15})
            db.session.remove()
