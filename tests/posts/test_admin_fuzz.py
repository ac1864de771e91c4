"""Property-based: random and hostile input to the sign-in form, the post form, the settings
form and the user forms never makes a 500, and a refused form changes nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blog.extensions import db
from blog.models import Category, Post, Role, Setting, Tag, User
from blog.settings import CONTENT_VERSION_KEY
from blog.settings_admin import FIELDS
from tests import factories
from tests.conftest import login
from tests.helpers import seeded

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "🙂",
    "\u202e",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "' OR 1=1 --",
    "%00",
    "0",
    "-1",
    "1e9",
    "99999999999999999999",
    "2147483648",
    "x" * 5000,
    "on",
    "oldest",
    "admin",
    "published",
]
text = st.one_of(st.text(max_size=200), st.sampled_from(NASTY))
ids = st.one_of(text, st.integers(min_value=-5, max_value=2**40).map(str))
dates = st.one_of(
    text,
    st.sampled_from(
        ["2030-01-01T10:00", "0001-01-01T00:00", "9999-12-31T23:59", "2024-02-30T10:00", "2024-1-1"]
    ),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot() -> tuple[Any, ...]:
    """Everything a form could change, read fresh from the database."""
    db.session.expire_all()

    def rows(*columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in db.session.execute(select(*columns).order_by(columns[0]))]

    return (
        rows(
            User.id,
            User.username,
            User.display_name,
            User.email,
            User.role,
            User.active,
            User.password_hash,
            User.session_token,
        ),
        rows(
            Post.id,
            Post.title,
            Post.slug,
            Post.body_source,
            Post.status,
            Post.published_at,
            Post.author_id,
            Post.primary_category_id,
            Post.comments_open,
            Post.excerpt,
        ),
        rows(Category.id, Category.name, Category.slug, Category.parent_id),
        rows(Tag.id, Tag.name),
        [r for r in rows(Setting.key, Setting.value) if r[0] != CONTENT_VERSION_KEY],
    )


def staff_and_a_post(app: Flask) -> dict[str, Any]:
    """Users and a post, made once per test (hypothesis calls the body many times)."""
    return seeded(app, "admin", build)


def build() -> dict[str, Any]:
    admin = factories.make_user(role=Role.ADMIN, username="boss")
    author = factories.make_user(role=Role.AUTHOR, username="ann")
    category = factories.make_category("Fuzz")
    post = factories.make_post(author=author, title="Target", categories=[category])
    return {"admin": admin, "author": author, "post_id": post.id, "category": category.id}


def check(app: Flask, response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.status_code
    if response.status_code >= 400:
        assert snapshot() == before, "a refused form changed something"


@FUZZ
@given(username=text, password=text, next_url=text, remember=text)
def test_the_sign_in_form_never_500s(
    app: Flask, username: str, password: str, next_url: str, remember: str
) -> None:
    staff_and_a_post(app)
    before = snapshot()
    response = app.test_client().post(
        "/login",
        data={"username": username, "password": password, "next": next_url, "remember": remember},
    )
    assert response.status_code in (303, 400)
    check(app, response, before)
    assert snapshot() == before  # signing in or failing to never changes an account


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "title": text,
            "slug": text,
            "body": text,
            "excerpt": text,
            "tags": text,
            "new_category": text,
            "status": st.one_of(st.sampled_from(["draft", "published"]), text),
            "published_at": dates,
            "categories": st.lists(ids, max_size=3),
            "primary_category": ids,
            "author": ids,
            "comments_open": text,
            "action": st.sampled_from(["save", "preview", "", "delete", "draft", "publish"]),
        }
    ),
    as_author=st.booleans(),
    edit=st.booleans(),
)
def test_the_post_form_never_500s(
    app: Flask, data: dict[str, Any], as_author: bool, edit: bool
) -> None:
    seed = staff_and_a_post(app)
    client = login(app.test_client(), seed["author"] if as_author else seed["admin"])
    before = snapshot()
    url = f"/admin/posts/{seed['post_id']}/edit" if edit else "/admin/posts/new"
    response = client.post(url, data=data)
    check(app, response, before)
    if data["action"] == "preview" and response.status_code == 200:
        assert snapshot() == before  # a preview saves nothing


@FUZZ
@given(values=st.fixed_dictionaries({name: text for name in FIELDS}))
def test_the_settings_form_never_500s(app: Flask, values: dict[str, str]) -> None:
    seed = staff_and_a_post(app)
    before = snapshot()
    response = login(app.test_client(), seed["admin"]).post("/admin/settings/", data=values)
    check(app, response, before)


@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "username": text,
            "display_name": text,
            "email": text,
            "role": st.one_of(st.sampled_from([r.value for r in Role]), text),
            "password": text,
        }
    ),
    target=st.sampled_from(["new", "edit", "password", "deactivate"]),
)
def test_the_user_forms_never_500(app: Flask, data: dict[str, str], target: str) -> None:
    seed = staff_and_a_post(app)
    client = login(app.test_client(), seed["admin"])
    before = snapshot()
    author_id = seed["author"].id
    url = {
        "new": "/admin/users/new",
        "edit": f"/admin/users/{author_id}/",
        "password": f"/admin/users/{author_id}/password",
        "deactivate": f"/admin/users/{seed['admin'].id}/deactivate",  # oneself: refused
    }[target]
    response = client.post(url, data=data)
    check(app, response, before)
    if target == "deactivate":
        assert response.status_code == 409


def test_no_get_request_changes_anything(app: Flask) -> None:
    """Every GET under /admin (and /login, /logout), as an admin: the database is untouched,
    the content version stamp included."""
    seed = staff_and_a_post(app)
    client = login(app.test_client(), seed["admin"])
    values = {
        "post_id": seed["post_id"],
        "category_id": seed["category"],
        "user_id": seed["author"].id,
        "comment_id": factories.make_comment(db.session.get(Post, seed["post_id"])).id,
    }
    db.session.commit()

    def everything() -> tuple[Any, ...]:
        version = db.session.scalar(select(Setting.value).where(Setting.key == CONTENT_VERSION_KEY))
        return (*snapshot(), version)

    before = everything()
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or not rule.rule.startswith(
                ("/admin", "/login", "/logout")
            ):
                continue
            if set(rule.arguments) - set(values):
                continue
            urls.append(url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    assert "/admin/posts/new" in urls and "/admin/settings/" in urls
    for url in urls:
        assert client.get(url).status_code in (200, 303, 409), url
    assert client.get("/admin/").status_code == 200  # still signed in after GET /logout
    assert everything() == before
