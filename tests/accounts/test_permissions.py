"""The role matrix of SPEC section 7: the domain rule (``can``, ``post_scope_filter``) checked
against a table written from the SPEC, and every admin URL tried anonymously and as each role.

The route test is parametrized over ``app.url_map`` (every rule under /admin), so a route added
later is covered at once: anonymous requests must go to the sign-in page, and no role may get a
500. Routes of this module's blueprint must also appear in the expectation table.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.routing import AnyConverter
from werkzeug.test import TestResponse

from blog import create_app
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostRevision, PostStatus, Role, User
from blog.permissions import MATRIX, Action, can, may_stick, post_scope_filter
from tests import factories
from tests.conftest import login

# --- The domain rule --------------------------------------------------------------------------

ADMIN, EDITOR, AUTHOR, MODERATOR = Role.ADMIN, Role.EDITOR, Role.AUTHOR, Role.MODERATOR
EVERYONE = frozenset(Role)
WRITERS = frozenset({ADMIN, EDITOR, AUTHOR})
EDITORS = frozenset({ADMIN, EDITOR})
ADMINS = frozenset({ADMIN})
MODERATORS = frozenset({ADMIN, EDITOR, MODERATOR})

# action -> (roles allowed on anything, roles allowed on their own posts only), from the SPEC.
SPEC_TABLE: dict[Action, tuple[frozenset[Role], frozenset[Role]]] = {
    Action.ACCESS_ADMIN: (EVERYONE, frozenset()),
    Action.MANAGE_USERS: (ADMINS, frozenset()),
    Action.MANAGE_SETTINGS: (ADMINS, frozenset()),
    Action.MANAGE_CATEGORIES: (EDITORS, frozenset()),
    Action.CREATE_POST: (WRITERS, frozenset()),
    Action.EDIT_POST: (EDITORS, frozenset({AUTHOR})),
    Action.PUBLISH_POST: (EDITORS, frozenset({AUTHOR})),
    Action.DELETE_POST: (EDITORS, frozenset({AUTHOR})),
    Action.MODERATE: (MODERATORS, frozenset({AUTHOR})),
    # Not in the SPEC's table: WordPress's upload_files (authors and above), and authors
    # managing only the files they uploaded.
    Action.UPLOAD_MEDIA: (WRITERS, frozenset()),
    Action.MANAGE_MEDIA: (EDITORS, frozenset({AUTHOR})),
}


def test_the_table_covers_every_action() -> None:
    assert set(SPEC_TABLE) == set(Action) == set(MATRIX)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_can_follows_the_spec_for_own_and_others_posts_and_their_comments(
    app: Flask, users: dict[Role, User], role: Role
) -> None:
    user = users[role]
    someone = factories.make_user(role=ADMIN if role != ADMIN else EDITOR)
    own = factories.make_post(author=user)
    others = factories.make_post(author=someone)
    own_comment = factories.make_comment(own, status=CommentStatus.PENDING)
    others_comment = factories.make_comment(others, status=CommentStatus.PENDING)
    failures = []
    for action in Action:
        anything, own_only = SPEC_TABLE[action]
        expected = {
            "no target": role in anything or role in own_only,
            "own post": role in anything or role in own_only,
            "another's post": role in anything,
            "comment on own post": role in anything or role in own_only,
            "comment on another's post": role in anything,
        }
        found = {
            "no target": can(user, action),
            "own post": can(user, action, own),
            "another's post": can(user, action, others),
            "comment on own post": can(user, action, own_comment),
            "comment on another's post": can(user, action, others_comment),
        }
        failures += [
            f"{action.value}, {k}: {found[k]}" for k in expected if found[k] != expected[k]
        ]
        # The SQL form of the same rule selects the same posts.
        scope = post_scope_filter(user, action)
        allowed = set(db.session.scalars(select(Post.id).where(scope)))
        in_scope = (
            {own.id, others.id} if role in anything else ({own.id} if role in own_only else set())
        )
        if allowed != in_scope:
            failures.append(f"{action.value}, SQL scope: {allowed} instead of {in_scope}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_nobody_signed_out_or_deactivated_may_do_anything(app: Flask, action: Action) -> None:
    gone = factories.make_user(role=ADMIN, active=False)
    post = factories.make_post(author=gone)
    assert not can(None, action) and not can(None, action, post)
    assert not can(gone, action) and not can(gone, action, post)
    assert db.session.scalars(select(Post.id).where(post_scope_filter(gone, action))).all() == []


# --- Every admin route, every role ------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    endpoint: str
    rule: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...]  # values for `any(...)` converters


def _admin_routes() -> list[RouteInfo]:
    """The /admin rules of a freshly built app (read at collection time)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/rules.sqlite3",
                "SECRET_KEY": "collect",
                "TESTING": True,
                "RATELIMIT_ENABLED": False,
            },
            instance_path=folder,
        )
        found = []
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/admin"):
                continue
            converters = rule._converters  # werkzeug keeps them only here
            fixed = tuple(
                (name, sorted(conv.items)[0])
                for name, conv in converters.items()
                if isinstance(conv, AnyConverter)
            )
            methods = tuple(m for m in ("GET", "POST") if m in (rule.methods or ()))
            found.append(
                RouteInfo(rule.endpoint, rule.rule, methods, tuple(sorted(rule.arguments)), fixed)
            )
        with app.app_context():
            db.engine.dispose()
    return sorted(found, key=lambda r: r.rule)


ROUTES = _admin_routes()

# endpoint -> who may use it. "own" means: writers on their own posts (and comments on them),
# editors and admins on everything.
OWN_POST = "own post"
OWN_COMMENT = "comment on own post"
OWN_MEDIA = "own uploaded file"
EXPECTED: dict[str, frozenset[Role] | str] = {
    "admin.dashboard": EVERYONE,
    "admin.profile": EVERYONE,
    "admin.change_password": EVERYONE,
    "admin.posts": WRITERS,
    "admin.post_new": WRITERS,
    "admin.post_edit": OWN_POST,
    "admin.post_delete": OWN_POST,
    "admin.post_publish": OWN_POST,
    "admin.post_unpublish": OWN_POST,
    "admin.post_revisions": OWN_POST,
    "admin.post_revision_compare": OWN_POST,
    "admin.post_revision_restore": OWN_POST,
    "admin.categories": EDITORS,
    "admin.pages_list": EDITORS,
    "admin.page_new": EDITORS,
    "admin.category_edit": EDITORS,
    "admin.category_delete": EDITORS,
    "admin.users": ADMINS,
    "admin.user_new": ADMINS,
    "admin.user_edit": ADMINS,
    "admin.user_password": ADMINS,
    "admin.user_deactivate": ADMINS,
    "admin.user_activate": ADMINS,
    "admin.settings": ADMINS,
    "admin.media_library": WRITERS,
    "admin.media_upload": WRITERS,
    "admin.media_edit": OWN_MEDIA,
    "admin.media_delete": OWN_MEDIA,
    "moderation.queue": EVERYONE,  # an author sees the comments on their own posts only
}


def test_every_route_of_the_admin_blueprint_has_an_expectation() -> None:
    mine = {r.endpoint for r in ROUTES if r.endpoint.startswith("admin.")}
    assert mine <= set(EXPECTED), mine - set(EXPECTED)
    assert {"admin.dashboard", "admin.posts", "admin.categories", "admin.users"} <= mine
    assert "admin.settings" in mine


def _cases() -> list[Any]:
    cases = []
    for route in ROUTES:
        owned = {"post_id", "comment_id", "media_id"} & set(route.arguments)
        owners = ["admin", "author"] if owned else [""]
        for owner in owners:
            label = f"{route.endpoint}-{owner}" if owner else route.endpoint
            cases.append(pytest.param(route, owner, id=label))
    return cases


IDENTITIES = ["anonymous", "deactivated", *(r.value for r in Role)]


def _targets(users: dict[Role, User], owner: str) -> dict[str, Any]:
    """Fresh things for one request to act on (a POST may delete or change them)."""
    post = factories.make_post(author=users[ADMIN if owner == "admin" else AUTHOR])
    comment = factories.make_comment(post, status=CommentStatus.PENDING)
    return {
        "post_id": post.id,
        "comment_id": comment.id,
        "category_id": factories.make_category().id,
        "user_id": factories.make_user(role=AUTHOR).id,
        "media_id": factories.make_media(users[ADMIN if owner == "admin" else AUTHOR]).id,
        # The revision the post got when it was made (every save keeps one).
        "revision_id": db.session.scalar(
            select(PostRevision.id).where(PostRevision.post_id == post.id)
        ),
    }


def _allowed(route: RouteInfo, owner: str, role: Role) -> bool | None:
    """True or False from the table; None for a route this file does not know (another
    blueprint's action on a comment): only the sign-in gate and "no 500" are checked then."""
    expected = EXPECTED.get(route.endpoint)
    if expected is None:
        if route.endpoint.startswith("moderation.") and "comment_id" in route.arguments:
            return role in MODERATORS or (role == AUTHOR and owner == "author")
        return None
    if isinstance(expected, str):
        return role in EDITORS or (role == AUTHOR and owner == "author")
    return role in expected


def _unexpected(
    response: TestResponse, route: RouteInfo, owner: str, identity: str, method: str, url: str
) -> str | None:
    """What is wrong with ``response`` for ``identity``, or None."""
    status = response.status_code
    where = f"{method} {url} as {identity}: {status}"
    if status >= 500:
        return f"{where} (server error)"
    if identity in ("anonymous", "deactivated"):
        parts = urlsplit(response.headers.get("Location", ""))
        if status != 302 or parts.path != "/login" or parse_qs(parts.query)["next"] != [url]:
            return f"{where}, expected a redirect to /login?next={url}"
        return None
    allowed = _allowed(route, owner, Role(identity))
    if allowed is False and status != 403:
        return f"{where}, expected 403"
    if allowed and method == "GET" and status != 200:
        return f"{where}, expected 200"
    if allowed and method == "POST" and status in (401, 403):
        return f"{where}, expected the action to be allowed"
    return None


@pytest.mark.parametrize("route, owner", _cases())
def test_admin_route_answers_as_the_role_matrix_says(
    app: Flask, users: dict[Role, User], route: RouteInfo, owner: str
) -> None:
    deactivated = factories.make_user(role=ADMIN, username="gone")
    failures: list[str] = []
    for identity, method in itertools.product(IDENTITIES, route.methods):
        values = {**dict(route.fixed), **_targets(users, owner)}
        with app.test_request_context():
            url = url_for(route.endpoint, **{k: values[k] for k in route.arguments})
        client = app.test_client()
        if identity == "deactivated":
            login(client, deactivated)
            deactivated.active = False
            db.session.commit()
        elif identity != "anonymous":
            login(client, users[Role(identity)])
        response = client.open(url, method=method)
        failure = _unexpected(response, route, owner, identity, method, url)
        if failure:
            failures.append(failure)
        if identity == "deactivated":
            deactivated.active = True
            db.session.commit()
    assert not failures, "\n".join(failures)


# --- Tampering: ids in the URL and hidden fields ----------------------------------------------


def _post_form(post: Post, **changes: str) -> dict[str, str]:
    return {
        "title": post.title,
        "slug": post.slug,
        "body": post.body_source,
        "status": post.status.value,
        "comments_open": "y",
        **changes,
    }


def test_an_author_cannot_touch_someone_elses_post_by_changing_the_id(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], Any]
) -> None:
    theirs = factories.make_post(author=users[ADMIN], title="Admin's post")
    client = client_as(AUTHOR)
    before = (theirs.title, theirs.body_source, theirs.status)
    base = f"/admin/posts/{theirs.id}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.post(f"{base}/edit", data=_post_form(theirs, title="Mine now")).status_code == 403
    assert client.post(f"{base}/unpublish").status_code == 403
    assert client.get(f"{base}/delete").status_code == 403
    assert client.post(f"{base}/delete").status_code == 403
    db.session.expire_all()
    found = db.session.get(Post, theirs.id)
    assert found is not None and (found.title, found.body_source, found.status) == before
    listing = client.get("/admin/posts/").get_data(as_text=True)
    assert "Admin&#39;s post" not in listing and "Admin's post" not in listing


def test_hidden_fields_cannot_move_a_post_to_another_author_or_aim_at_another_post(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], Any]
) -> None:
    mine = factories.make_post(author=users[AUTHOR], title="Mine")
    theirs = factories.make_post(author=users[ADMIN], title="Theirs")
    client = client_as(AUTHOR)
    # Aiming at the other post through extra fields changes only the post in the URL.
    aimed = client.post(
        f"/admin/posts/{mine.id}/edit",
        data=_post_form(mine, title="Mine, edited", post_id=str(theirs.id), id=str(theirs.id)),
    )
    assert aimed.status_code == 303
    # Handing one's post to the admin (a forged author field) is refused.
    forged = client.post(
        f"/admin/posts/{mine.id}/edit", data=_post_form(mine, author=str(users[ADMIN].id))
    )
    assert forged.status_code == 403
    created = client.post(
        "/admin/posts/new",
        data={"title": "Ghost", "body": "x", "status": "draft", "author": str(users[ADMIN].id)},
    )
    assert created.status_code == 403
    db.session.expire_all()
    assert db.session.get(Post, theirs.id).title == "Theirs"
    assert db.session.get(Post, mine.id).title == "Mine, edited"
    assert db.session.get(Post, mine.id).author_id == users[AUTHOR].id
    assert db.session.scalar(select(Post).where(Post.title == "Ghost")) is None


def test_an_editor_may_give_a_post_to_another_author(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], Any]
) -> None:
    post = factories.make_post(author=users[EDITOR])
    response = client_as(EDITOR).post(
        f"/admin/posts/{post.id}/edit", data=_post_form(post, author=str(users[AUTHOR].id))
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Post, post.id).author_id == users[AUTHOR].id


def test_a_moderator_cannot_write_or_reach_posts_categories_users_or_settings(
    app: Flask, client_as: Callable[[Role], Any]
) -> None:
    client = client_as(MODERATOR)
    created = client.post("/admin/posts/new", data={"title": "Nope", "body": "x"})
    assert created.status_code == 403
    assert db.session.scalar(select(Post).where(Post.title == "Nope")) is None
    menu = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/posts/"' not in menu and 'href="/admin/users/"' not in menu
    assert db.session.scalar(select(Comment.id)) is None  # nothing was created on the way


def test_the_domain_functions_refuse_on_their_own_without_any_view(
    app: Flask, users: dict[Role, User]
) -> None:
    """The API and the CLI call the same functions: the rule holds without HTTP."""
    from datetime import datetime

    from blog.accounts.users import save_account, set_active
    from blog.permissions import NotAllowed
    from blog.posts import authoring, categories
    from blog.settings_admin import update_settings

    theirs = factories.make_post(author=users[ADMIN], title="Theirs")
    author, moderator = users[AUTHOR], users[MODERATOR]
    change = authoring.PostChanges(title="Taken over", body="x", status=PostStatus.DRAFT)
    attempts: list[Callable[[], object]] = [
        lambda: authoring.update_post(author, theirs, change),
        lambda: authoring.publish_post(author, theirs),
        lambda: authoring.unpublish_post(author, theirs),
        lambda: authoring.delete_post(author, theirs),
        lambda: authoring.write_post(moderator, change),
        lambda: categories.create_category(author, "Nope"),
        lambda: update_settings(users[EDITOR], {"site_title": "Nope"}),
        lambda: save_account(users[EDITOR], author, "x", "", Role.ADMIN),
        lambda: set_active(users[EDITOR], author, False),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
        db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Post, theirs.id).title == "Theirs"
    assert db.session.get(User, author.id).role == AUTHOR and db.session.get(User, author.id).active
    # Naive datetimes from other callers are taken as UTC.
    naive = datetime(2030, 1, 2, 3, 4)
    scheduled = authoring.write_post(
        author,
        authoring.PostChanges(
            title="Later", body="x", status=PostStatus.PUBLISHED, published_at=naive
        ),
    )
    assert scheduled.published_at is not None
    assert scheduled.published_at.isoformat() == "2030-01-02T03:04:00+00:00"


def test_only_those_who_may_edit_every_post_may_stick_one(
    app: Flask, users: dict[Role, User]
) -> None:
    assert {role for role, user in users.items() if may_stick(user)} == {ADMIN, EDITOR}
    assert not may_stick(None)
    assert not may_stick(factories.make_user(role=ADMIN, active=False))
