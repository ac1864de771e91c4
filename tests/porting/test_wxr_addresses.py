"""Moving from WordPress keeps every address (issue 16): old addresses answer 301 to the new
ones, pages are pages (below their parents, with their own template), the menu comes along,
links inside content lead to the new addresses, and ``flask blog check-links`` finds none broken.

The fixture ``fixtures/wordpress-site.xml`` is a small site with date permalinks, a post whose
permalink had its category in it, a page below a page, a draft page, an attachment page, two
menus (a main one with a subitem, a category and custom links, and a smaller footer one) and
links between posts, absolute (with and without ``www.``) and root-relative.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import (
    Category,
    Post,
    PostKind,
    PostStatus,
    Redirect,
    RedirectTarget,
    Role,
    Setting,
    User,
)
from blog.posts.authoring import PostChanges, update_post
from blog.posts.categories import update_category
from blog.posts.redirects import add_redirect, recorded
from tests import factories
from tests.commenting import comment_id, post_comment, reader
from tests.paths import FIXTURES

SITE = FIXTURES / "wordpress-site.xml"


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    db.session.expire_all()
    return result


@pytest.fixture
def site(app: Flask) -> Any:
    result = run(app, "import-wxr", str(SITE))
    assert result.exit_code == 0, result.output
    return result


def post(slug: str) -> Post:
    return db.session.scalars(select(Post).where(Post.slug == slug)).one()


def moved(client: FlaskClient, address: str) -> str:
    """Where an old address leads: asserts a 301 to a page that answers 200."""
    response = client.get(address)
    assert response.status_code == 301, (address, response.status_code)
    location = response.headers["Location"]
    assert client.get(location).status_code == 200, (address, location)
    return location


OLD_AND_NEW = [
    ("/2023/05/04/hello-world/", "/blog/hello-world/"),
    ("/2023/05/04/hello-world", "/blog/hello-world/"),
    ("/?p=10", "/blog/hello-world/"),
    ("/index.php?p=10", "/blog/hello-world/"),
    ("/hello-world/", "/blog/hello-world/"),
    ("/news/local/third-post/", "/blog/third-post/"),
    ("/?page_id=21", "/about/team/"),
    ("/?p=20", "/about/"),
    ("/?cat=3", "/category/news/"),
    ("/?cat=4", "/category/news/local/"),
    ("/?tag=rust", "/tag/rust/"),
    ("/?author=5", "/author/alice-walker/"),
    ("/author/alice/", "/author/alice-walker/"),
    ("/2023/05/04/hello-world/photo/", "/blog/hello-world/"),
    ("/?attachment_id=30", "/blog/hello-world/"),
    ("/2023/05/04/hello-world/feed/", "/blog/hello-world/feed/"),
    ("/?feed=rss2", "/feed/"),
    ("/?feed=comments-rss2", "/comments/feed/"),
    ("/feed/rss2/", "/feed/"),
    ("/2023/06/", "/archive/2023/6/"),
    ("/2023/", "/archive/2023/"),
    ("/about", "/about/"),
]


def test_every_old_address_answers_301_to_its_new_home(client: FlaskClient, site: Any) -> None:
    # One import, every address walked (one test per address imported the file 22 times).
    wrong = []
    for old, new in OLD_AND_NEW:
        response = client.get(old)
        location = response.headers.get("Location", "")
        if response.status_code != 301 or not location.endswith(new):
            wrong.append(f"{old}: {response.status_code} {location!r}, expected 301 to {new}")
        elif client.get(location).status_code != 200:
            wrong.append(f"{old}: {location} does not answer 200")
    assert not wrong, "\n".join(wrong)


def test_wordpress_admin_and_sign_in_lead_to_ours(client: FlaskClient) -> None:
    assert client.get("/wp-admin/").headers["Location"].endswith("/admin/")
    assert client.get("/wp-admin/post.php?post=3&action=edit").status_code == 301
    assert client.get("/wp-login.php").headers["Location"].endswith("/login")


def test_unknown_addresses_stay_404_and_plain_home_is_home(client: FlaskClient, site: Any) -> None:
    assert client.get("/2023/05/04/no-such-post/").status_code == 404
    assert client.get("/?p=999").status_code == 200  # WordPress's home page too
    assert client.get("/no/such/page/").status_code == 404
    assert client.post("/no-such-form/").status_code in (404, 405)
    assert client.get("/api/v1/no-such-thing").is_json


def test_pages_are_pages_below_their_parents(client: FlaskClient, site: Any) -> None:
    about, team = post("about"), post("team")
    assert about.kind == team.kind == PostKind.PAGE
    assert team.parent_id == about.id and about.parent_id is None
    assert about.categories == [] and about.primary_category is None
    assert db.session.scalar(select(func.count()).where(Category.slug == "pages")) == 0
    page = client.get("/about/team/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Alice and Bob." in html and '<article class="page"' in html
    assert "Posted by" not in html and "Categories:" not in html
    assert 'href="/about/">About</a>' in html  # the breadcrumb through the parent
    assert "Comments are closed" in html or "Leave a Reply" not in html
    assert client.get("/team/").status_code == 404  # a child only below its parent
    about_html = client.get("/about/").get_data(as_text=True)
    assert "Hello from the about page." in about_html and "Leave a Reply" in about_html
    assert 'href="/about/team/"' in about_html  # its subpages
    assert client.get("/blog/about/").headers["Location"].endswith("/about/")


def test_a_draft_page_is_not_served(client: FlaskClient, site: Any) -> None:
    draft = db.session.scalars(select(Post).where(Post.title == "Draft page")).one()
    assert draft.status == PostStatus.DRAFT
    assert client.get(f"/{draft.slug}/").status_code == 404
    assert client.get("/?page_id=22").status_code == 200  # no public address: the home page


def test_pages_stay_out_of_lists_feeds_and_archives_but_not_the_sitemap(
    client: FlaskClient, site: Any
) -> None:
    for address in ("/", "/blog/", "/feed/", "/archive/2023/"):
        body = client.get(address).get_data(as_text=True)
        assert "Who we are" not in body and "Alice and Bob" not in body, address
        assert "Welcome to the new site" in body, address
    found = client.get("/search/?q=team").get_data(as_text=True)  # WordPress's search finds pages
    assert '<a href="/about/">About</a>' in found
    assert "Who we are" not in client.get("/archive/2023/1/").get_data(as_text=True)
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert "/about/team/</loc>" in sitemap and "/about/</loc>" in sitemap
    assert "/blog/hello-world/</loc>" in sitemap


def test_links_inside_content_lead_to_the_new_addresses(client: FlaskClient, site: Any) -> None:
    hello = post("hello-world")
    assert 'href="/blog/second-post/#more-11"' in hello.body_html
    assert 'href="/blog/third-post/"' in hello.body_html
    assert 'href="/about/team/"' in hello.body_html  # written with www. in front
    assert 'href="/about/"' in hello.body_html
    assert "https://example.com/2023/06/01/second-post/" in hello.body_html  # another site
    assert 'src="https://old.example.org/wp-content/uploads/2023/05/photo.jpg"' in hello.body_html
    assert 'href="/blog/hello-world/"' in post("second-post").body_html
    assert 'href="/category/news/"' in post("second-post").body_html
    assert hello.updated_at == datetime(2023, 5, 4, 9, 0, tzinfo=UTC)  # WordPress's, kept
    assert post("team").updated_at == datetime(2023, 1, 2, 8, 0, tzinfo=UTC)


def test_the_largest_menu_becomes_the_site_menu(client: FlaskClient, site: Any) -> None:
    stored = json.loads(db.session.get(Setting, "site_menu").value)
    assert stored.splitlines() == [
        "Home | /",
        "About | /about/",
        "-Our team | /about/team/",
        "News | /category/news/",
        "Elsewhere | https://example.com/",
    ]
    nav = client.get("/blog/").get_data(as_text=True).split('<nav class="site-nav"', 1)[1]
    nav = nav.split("</nav>", 1)[0]
    assert '<a href="/about/team/">Our team</a>' in nav and "Privacy" not in nav


def test_import_again_adds_nothing_and_summarises(app: Flask, site: Any) -> None:
    assert "pages: 3 imported" in site.output
    assert "posts: 3 imported" in site.output
    assert "menu: 5 item(s) imported" in site.output
    assert "skipped: 1 item(s) of type or status 'attachment'" in site.output
    redirects = db.session.scalar(select(func.count(Redirect.id)))
    assert redirects and f"redirects: {redirects} imported, 0 already there" in site.output
    again = run(app, "import-wxr", str(SITE))
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count(Redirect.id))) == redirects
    assert f"redirects: 0 imported, {redirects} already there" in again.output
    assert "menu: 0 item(s) imported, 5 left (a menu is set)" in again.output


def test_check_links_passes_on_the_imported_site(app: Flask, site: Any) -> None:
    result = run(app, "check-links")
    assert result.exit_code == 0, result.output
    assert "0 broken" in result.output


def test_check_links_lists_a_broken_link_and_fails(app: Flask, site: Any) -> None:
    admin = factories.make_user(role=Role.ADMIN)
    factories.make_post(
        admin, title="Broken", body="See [nothing](/nothing-here/) and [old](/?p=11)."
    )
    result = run(app, "check-links")
    assert result.exit_code == 1
    assert "broken: 404 /nothing-here/ (linked from /blog/broken/)" in result.output
    assert "redirect: /?p=11 -> /blog/second-post/ (linked from /blog/broken/)" in result.output


def test_a_changed_slug_leaves_a_redirect_without_chains_or_loops(
    client: FlaskClient, site: Any
) -> None:
    admin = factories.make_user(role=Role.ADMIN)
    hello = post("hello-world")

    def rename(slug: str) -> None:
        changes = PostChanges(
            title=hello.title, body=hello.body_source, slug=slug, status=PostStatus.PUBLISHED
        )
        update_post(admin, db.session.get(Post, hello.id), changes)

    rename("hello-again")
    assert moved(client, "/blog/hello-world/").endswith("/blog/hello-again/")
    rename("hello-third")  # A -> B, B -> C: both lead to C in one step
    assert moved(client, "/blog/hello-world/").endswith("/blog/hello-third/")
    assert moved(client, "/blog/hello-again/").endswith("/blog/hello-third/")
    assert moved(client, "/2023/05/04/hello-world/").endswith("/blog/hello-third/")
    rename("hello-world")  # back: the address lives again, no loop
    assert client.get("/blog/hello-world/").status_code == 200
    assert moved(client, "/blog/hello-third/").endswith("/blog/hello-world/")


def test_a_moved_page_and_category_keep_their_old_addresses(client: FlaskClient, site: Any) -> None:
    admin = factories.make_user(role=Role.ADMIN)
    about = post("about")
    changes = PostChanges(
        title="About", body=about.body_source, slug="who-we-are", status=PostStatus.PUBLISHED
    )
    update_post(admin, about, changes)
    assert moved(client, "/about/").endswith("/who-we-are/")
    assert moved(client, "/about/team/").endswith("/who-we-are/team/")  # its child moved too
    news = db.session.scalars(select(Category).where(Category.slug == "news")).one()
    update_category(admin, news, "News", slug="updates")
    assert moved(client, "/category/news/local/").endswith("/category/updates/local/")
    assert moved(client, "/category/news/feed/").endswith("/category/updates/feed/")
    assert moved(client, "/?cat=3").endswith("/category/updates/")


def test_admin_manages_pages_with_a_parent(
    client_as: Any, site: Any, users: dict[Role, User]
) -> None:
    editor = client_as(Role.EDITOR)
    listing = editor.get("/admin/pages/").get_data(as_text=True)
    assert "About" in listing and "about/team" in listing
    about = post("about")
    response = editor.post(
        "/admin/pages/new",
        data={
            "title": "History",
            "body": "Since 2001.",
            "status": "published",
            "parent": str(about.id),
            "comments_open": "y",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    history = post("history")
    assert history.kind == PostKind.PAGE and history.parent_id == about.id
    assert editor.get("/about/history/").status_code == 200
    posts_list = editor.get("/admin/posts/").get_data(as_text=True)
    assert "History" not in posts_list and "Hello world" in posts_list
    form = editor.get(f"/admin/posts/{about.id}/edit").get_data(as_text=True)
    assert 'name="parent"' in form and 'name="categories"' not in form
    assert client_as(Role.AUTHOR).get("/admin/pages/").status_code == 403


def test_admin_edits_the_menu_as_an_ordered_list(
    client_as: Any, app: Flask, users: dict[Role, User]
) -> None:
    admin = client_as(Role.ADMIN)
    page = admin.get("/admin/settings/").get_data(as_text=True)
    assert 'name="site_menu"' in page
    form = {"site_title": "Site", "tagline": "", "site_menu": "Start | /\n-Feed | /feed/"}
    for name in ("thread_comments_depth", "close_comments_days_old", "comments_per_page"):
        form[name] = {"thread_comments_depth": "5"}.get(name, "14" if "days" in name else "50")
    form |= {"default_comments_page": "oldest", "flood_interval_seconds": "15"}
    form |= {"comment_max_links": "2", "spam_threshold": "0.9", "spam_min_examples": "20"}
    form |= {"ip_retention_days": "0", "comment_edit_window_minutes": "15"}
    form |= {"report_hold_threshold": "3", "timezone": "UTC"}
    assert admin.post("/admin/settings/", data=form).status_code == 303
    nav = admin.get("/").get_data(as_text=True).split('<nav class="site-nav"', 1)[1]
    assert '<a href="/">Start</a>' in nav and '<a href="/feed/">Feed</a>' in nav
    form["site_menu"] = "no address here"
    refused = admin.post("/admin/settings/", data=form)
    assert refused.status_code == 400 and "Line 1" in refused.get_data(as_text=True)


def test_recorded_paths_never_chain_or_loop(app: Flask) -> None:
    with app.test_request_context():
        assert add_redirect("/a", RedirectTarget.PATH, target_path="/b/")
        assert add_redirect("/b", RedirectTarget.PATH, target_path="/c/")
        assert recorded("/a") == recorded("/b") == "/c/"  # A -> B, B -> C: A -> C
        assert not add_redirect("/b", RedirectTarget.PATH, target_path="/c/")  # already so
        add_redirect("/c", RedirectTarget.PATH, target_path="/a/")  # C -> A would close a loop
        assert recorded("/a") is None  # A lives again: it leads nowhere
        assert recorded("/b") == recorded("/c") == "/a/"
        assert not add_redirect("/d", RedirectTarget.PATH, target_path="/d/")  # to itself


def test_a_reader_replies_on_a_page_that_allows_it(app: Flask, site: Any) -> None:
    anonymous = reader(app)
    response = post_comment(anonymous, "about", body="Glad to meet you.")
    assert comment_id(response)
    assert anonymous.get(response.headers["Location"]).headers["Location"].startswith("/about/")
    assert "Glad to meet you." in anonymous.get("/about/").get_data(as_text=True)
    assert post_comment(reader(app), "team").status_code == 403  # comments closed there


def test_export_and_import_again_keeps_pages_parents_and_menu(
    app: Flask, site: Any, tmp_path: Path
) -> None:
    menu = json.loads(db.session.get(Setting, "site_menu").value)
    exported = tmp_path / "export.xml"
    assert run(app, "export-wxr", str(exported)).exit_code == 0
    db.session.remove()
    db.drop_all()
    db.create_all()
    again = run(app, "import-wxr", str(exported))
    assert again.exit_code == 0, again.output
    assert "pages: 3 imported" in again.output
    assert post("team").parent_id == post("about").id
    assert json.loads(db.session.get(Setting, "site_menu").value) == menu
