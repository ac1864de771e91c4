"""The users page (admins only) and the settings page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, fields

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.accounts import users as accounts
from blog.extensions import db
from blog.models import Role, User
from blog.settings import Settings, load_settings
from blog.settings_admin import FIELDS, form_values
from tests import factories
from tests.conftest import login


def user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


def test_an_admin_creates_a_user_who_can_then_sign_in(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    client = client_as(Role.ADMIN)
    created = client.post(
        "/admin/users/new",
        data={
            "username": "newbie",
            "display_name": "New Bie",
            "email": "New@Example.com",
            "role": "author",
            "password": "long enough",
        },
    )
    assert created.status_code == 303
    found = user("newbie")
    assert (found.display_name, found.email, found.role) == (
        "New Bie",
        "New@example.com",
        Role.AUTHOR,
    )
    assert "newbie" in client.get("/admin/users/").get_data(as_text=True)
    signed_in = app.test_client().post(
        "/login", data={"username": "newbie", "password": "long enough"}
    )
    assert signed_in.status_code == 303


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"username": "admin"}, "username", "is taken"),
        ({"username": "bad name!"}, "username", "Usernames use letters"),
        ({"password": "short"}, "password", "at least 8"),
        ({"email": "not an email"}, "email", "valid email"),
        ({"role": "owner"}, "role", "Choose a role from the list."),
    ],
)
def test_bad_new_users_are_refused_beside_the_field_with_the_typed_text_kept(
    client_as: Callable[[Role], FlaskClient], changes: dict[str, str], field: str, message: str
) -> None:
    data = {
        "username": "fresh",
        "display_name": "Typed Name",
        "email": "fresh@example.com",
        "role": "editor",
        "password": "long enough",
        **changes,
    }
    before = db.session.scalar(select(func.count(User.id)))
    response = client_as(Role.ADMIN).post("/admin/users/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">([^<]*)<', html)
    assert error is not None and message in error.group(1)
    assert 'value="Typed Name"' in html
    assert "long enough" not in html  # passwords are never sent back
    assert db.session.scalar(select(func.count(User.id))) == before


def test_an_admin_changes_a_role_and_the_new_rights_apply_at_once(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    author = client_as(Role.AUTHOR)
    assert author.get("/admin/categories/").status_code == 403
    response = client_as(Role.ADMIN).post(
        f"/admin/users/{users[Role.AUTHOR].id}/",
        data={"display_name": "Promoted", "email": "p@example.com", "role": "editor"},
    )
    assert response.status_code == 303
    assert user("author").role == Role.EDITOR
    assert author.get("/admin/categories/").status_code == 200


def test_the_last_admin_cannot_be_demoted_or_deactivated_and_nobody_locks_themselves_out(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    admin = users[Role.ADMIN]
    client = client_as(Role.ADMIN)
    demote = client.post(
        f"/admin/users/{admin.id}/", data={"display_name": "A", "email": "", "role": "author"}
    )
    assert demote.status_code == 400
    assert "your own admin role" in demote.get_data(as_text=True)
    assert client.post(f"/admin/users/{admin.id}/deactivate").status_code == 409
    assert user("admin").role == Role.ADMIN and user("admin").active
    other = factories.make_user(role=Role.ADMIN, username="other_admin")
    with pytest.raises(accounts.UserError, match="your own account"):
        accounts.set_active(other, user("other_admin"), False)
    # With two active admins, one may demote the other.
    accounts.save_account(other, user("admin"), "A", "", Role.EDITOR)
    assert user("admin").role == Role.EDITOR


def test_deactivated_users_can_be_reactivated(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    client = client_as(Role.ADMIN)
    author_id = users[Role.AUTHOR].id
    client.post(f"/admin/users/{author_id}/deactivate")
    assert not user("author").active
    assert "Deactivated" in client.get("/admin/users/").get_data(as_text=True)
    client.post(f"/admin/users/{author_id}/activate")
    assert user("author").active
    response = app.test_client().post(
        "/login", data={"username": "author", "password": factories.PASSWORD}
    )
    assert response.status_code == 303


def test_a_password_reset_needs_a_proper_password(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    response = client_as(Role.ADMIN).post(
        f"/admin/users/{users[Role.EDITOR].id}/password", data={"password": "short"}
    )
    assert response.status_code == 400
    assert accounts.authenticate("editor", factories.PASSWORD) is not None


def test_everyone_may_edit_their_own_profile(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    client = client_as(Role.MODERATOR)
    response = client.post(
        "/admin/profile/", data={"display_name": "Mod Squad", "email": "mod@example.com"}
    )
    assert response.status_code == 303
    assert user("moderator").display_name == "Mod Squad"
    bad = client.post("/admin/profile/", data={"display_name": "Kept", "email": "nope"})
    assert bad.status_code == 400
    assert 'value="Kept"' in bad.get_data(as_text=True)
    assert user("moderator").display_name == "Mod Squad"


# --- Settings ---------------------------------------------------------------------------------


def test_the_settings_page_shows_every_setting(client_as: Callable[[Role], FlaskClient]) -> None:
    assert set(FIELDS) == {f.name for f in fields(Settings)}
    html = client_as(Role.ADMIN).get("/admin/settings/").get_data(as_text=True)
    for name in FIELDS:
        assert f'name="{name}"' in html, name


def full_form(**changes: str) -> dict[str, str]:
    values = {k: v for k, v in form_values(Settings()).items() if v != ""}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_saving_the_settings_changes_what_readers_see(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    data = full_form(
        site_title="Cyber Notes",
        tagline="Security, plainly",
        comment_max_links="5",
        moderation_keys="casino\nviagra",
        default_comments_page="newest",
    )
    del data["comment_moderation"]  # an unticked box is "off"
    response = client_as(Role.ADMIN).post("/admin/settings/", data=data)
    assert response.status_code == 303
    saved = load_settings()
    assert saved.site_title == "Cyber Notes" and saved.comment_max_links == 5
    assert saved.moderation_keys == "casino\nviagra" and saved.default_comments_page == "newest"
    assert saved.comment_moderation is False and saved.thread_comments is True
    home = app.test_client().get("/").get_data(as_text=True)
    assert "Cyber Notes" in home and "Security, plainly" in home


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("site_title", "   ", "needs a title"),
        ("comment_max_links", "two", "whole number"),
        ("comment_max_links", "-1", "from 0 to 100"),
        ("thread_comments_depth", "11", "from 2 to 10"),
        ("comments_per_page", "0", "from 1 to 1000"),
        ("default_comments_page", "random", "Choose one of the options."),
        ("tagline", "x" * 201, "At most 200"),
    ],
)
def test_bad_settings_are_refused_all_together_with_the_typed_values_kept(
    client_as: Callable[[Role], FlaskClient], name: str, value: str, message: str
) -> None:
    before = asdict(load_settings())
    data = full_form(**{"site_title": "Typed title", name: value})
    response = client_as(Role.ADMIN).post("/admin/settings/", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'id="{name}-error">([^<]*)<', html)
    assert error is not None and message in error.group(1)
    if name != "site_title":
        assert 'value="Typed title"' in html
    assert asdict(load_settings()) == before


def test_settings_and_users_are_for_admins_only(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    for role in (Role.EDITOR, Role.AUTHOR, Role.MODERATOR):
        client = client_as(role)
        assert (
            client.post("/admin/settings/", data=full_form(site_title="Hijacked")).status_code
            == 403
        )
        promoted = client.post(
            f"/admin/users/{users[role].id}/", data={"display_name": "x", "role": "admin"}
        )
        assert promoted.status_code == 403
    assert load_settings().site_title != "Hijacked"
    assert all(user(r.value).role == r for r in Role)


def test_the_settings_form_works_with_csrf_on(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = login(app.test_client(), factories.make_user(role=Role.ADMIN, username="boss"))
        stale = client.post("/admin/settings/", data=full_form(site_title="Typed"))
        assert stale.status_code == 400
        html = stale.get_data(as_text=True)
        assert "session expired" in html and 'value="Typed"' in html
        assert load_settings().site_title == "My Blog"
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token is not None
        ok = client.post(
            "/admin/settings/", data=full_form(site_title="Typed", csrf_token=token[1])
        )
        assert ok.status_code == 303
        assert load_settings().site_title == "Typed"
        made = client.post(
            "/admin/users/new",
            data={"username": "x1", "password": "long enough", "role": "author"},
        )
        assert made.status_code == 400 and "session expired" in made.get_data(as_text=True)
        ok_user = client.post(
            "/admin/users/new",
            data={
                "username": "x1",
                "password": "long enough",
                "role": "author",
                "csrf_token": token[1],
            },
        )
        assert ok_user.status_code == 303
