"""HEAD and GET change nothing, anywhere (SPEC section 11): every rule of the URL map that
answers GET is sent HEAD and GET, with real arguments, by a reader and by a signed-in admin;
afterwards every table holds what it held, and every session is still signed in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from blog.accounts.password_reset import reset_token
from blog.comments.notifications import confirmation_token, unsubscribe_token
from blog.extensions import db
from blog.models import CommentStatus, Role
from tests import factories
from tests.conftest import login


def snapshot() -> dict[str, str]:
    """Every table's rows, as a hash per table (in primary-key order)."""
    db.session.expire_all()
    tables: dict[str, str] = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(select(table).order_by(*order)).all()
        tables[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest() + f" {len(rows)}"
    db.session.commit()
    return tables


def arguments(app: Flask) -> dict[str, dict[str, Any]]:
    """Real values for every rule argument, by endpoint (a post's slug is not a tag's)."""
    admin = factories.make_user(Role.ADMIN, username="admin", email="admin@blog.example")
    category = factories.make_category("Walks")
    post = factories.make_post(author=admin, categories=[category], tags=["hiking"])
    approved = factories.make_comment(post, author_email="sub@example.org")
    approved.notify_replies = True
    factories.make_comment(post, status=CommentStatus.PENDING)
    waiting = factories.make_comment(
        post, status=CommentStatus.UNCONFIRMED, author_email="new@example.org"
    )
    picture = factories.make_media(admin)
    published = post.published_at
    assert published is not None
    common = {
        "slug": post.slug,
        "post_id": post.id,
        "comment_id": approved.id,
        "category_id": category.id,
        "user_id": admin.id,
        "media_id": picture.id,
        "username": admin.username,
        "path": category.slug,
        "year": published.year,
        "month": published.month,
        "number": 1,
        "key": "0" * 32,
        "filename": "style.css",
    }
    values = {
        "public.tag": {"slug": "hiking"},
        "comments.unsubscribe": {"token": unsubscribe_token(approved)},
        "reader.confirm": {"token": confirmation_token(waiting)},
        "media.file": {"key": picture.key},
        "auth.reset_password": {"token": reset_token(admin)},
    }
    db.session.commit()
    return {"": common, **values}


def url_for_rule(app: Flask, rule: Rule, values: dict[str, dict[str, Any]]) -> str:
    given = {**values[""], **values.get(rule.endpoint, {})}
    defaults = rule.defaults or {}
    args = {name: defaults.get(name, given.get(name)) for name in rule.arguments}
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, args, method="GET")


def walk(app: Flask, client: FlaskClient, values: dict[str, dict[str, Any]]) -> list[str]:
    """HEAD then GET on every GET rule; the answers that were server errors."""
    failures: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        url = url_for_rule(app, rule, values)
        for method in ("HEAD", "GET"):
            response = client.open(url, method=method)
            response.close()  # static files are streamed from an open file
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    return failures


def signed_in(client: FlaskClient) -> bool:
    return client.get("/admin/").status_code == 200


def test_head_and_get_change_nothing_on_any_page(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_SEND_AFTER_COMMIT=False)
    with app.app_context():
        values = arguments(app)
        admin = factories.make_user(Role.ADMIN)  # a second admin: the walker
        owner = db.session.scalars(select(type(admin)).filter_by(username="admin")).one()
        walker = login(app.test_client(), owner)
        witness = login(app.test_client(), owner)  # another session of the same user
        other = login(app.test_client(), admin)
        assert signed_in(walker) and signed_in(witness) and signed_in(other)
        before = snapshot()

        failures = walk(app, app.test_client(), values) + walk(app, walker, values)

        assert failures == []
        after = snapshot()
        changed = sorted(name for name in before if before[name] != after[name])
        assert changed == []
        assert signed_in(walker) and signed_in(witness) and signed_in(other)
