"""The site time zone: every date shown on its clock, and the monthly archives cut by it.
Stored times stay UTC, and so does the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import CommentStatus, Post, PostStatus, Role, User
from blog.settings import Settings, load_settings, save_settings
from blog.settings_admin import form_values
from tests import factories

# 23:30 UTC on the last day of May: already June 1 in Berlin (UTC+2 in summer).
LATE_MAY = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)


def text_of(response: Any) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r"<script.*?</script>|<aside class=\"sidebar\".*?</aside>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_time_zone_is_utc_until_an_admin_chooses_one(app: Flask) -> None:
    assert load_settings().timezone == "UTC"


@pytest.mark.parametrize(
    "zone, in_may, in_june",
    [("UTC", True, False), ("Europe/Berlin", False, True), ("America/New_York", True, False)],
)
def test_a_post_late_on_the_last_of_the_month_is_archived_in_the_sites_month(
    client: FlaskClient, zone: str, in_may: bool, in_june: bool
) -> None:
    save_settings({"timezone": zone})
    factories.make_post(title="Midnight post", published_at=LATE_MAY)
    factories.make_post(title="Mid-May post", published_at=datetime(2025, 5, 15, tzinfo=UTC))
    may, june = text_of(client.get("/archive/2025/05/")), text_of(client.get("/archive/2025/06/"))
    assert ("Midnight post" in may) is in_may
    assert ("Midnight post" in june) is in_june
    assert "Mid-May post" in may and "Mid-May post" not in june
    assert "Midnight post" in text_of(client.get("/archive/2025/"))


def test_a_post_late_on_new_years_eve_belongs_to_the_next_year_east_of_greenwich(
    client: FlaskClient,
) -> None:
    save_settings({"timezone": "Asia/Tokyo"})
    factories.make_post(title="Fireworks", published_at=datetime(2024, 12, 31, 16, tzinfo=UTC))
    assert "Fireworks" in text_of(client.get("/archive/2025/"))
    assert "Fireworks" not in text_of(client.get("/archive/2024/"))
    assert "Fireworks" in text_of(client.get("/archive/2025/01/"))
    assert client.get("/archive/1/").status_code in (200, 404)  # never a 500


def test_post_and_comment_dates_are_shown_on_the_sites_clock(client: FlaskClient) -> None:
    save_settings({"timezone": "Europe/Berlin"})
    post = factories.make_post(title="Summer", published_at=LATE_MAY)
    factories.make_comment(post, created_at=datetime(2025, 6, 2, 22, 15, tzinfo=UTC))
    page = text_of(client.get(f"/blog/{post.slug}/"))
    assert "June 1, 2025" in page and "May 31, 2025" not in page
    assert "June 3, 2025 at 00:15" in page
    assert "June 1, 2025" in text_of(client.get("/"))
    save_settings({"timezone": "UTC"})
    page = text_of(client.get(f"/blog/{post.slug}/"))
    assert "May 31, 2025" in page and "June 2, 2025 at 22:15" in page


def test_admin_lists_show_the_sites_clock(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    save_settings({"timezone": "Asia/Kolkata"})  # UTC+5:30
    post = factories.make_post(users[Role.AUTHOR], title="Listed", published_at=LATE_MAY)
    factories.make_comment(
        post, status=CommentStatus.PENDING, created_at=datetime(2025, 6, 2, 20, 0, tzinfo=UTC)
    )
    admin = client_as(Role.ADMIN)
    assert "June 1, 2025 at 05:00" in text_of(admin.get("/admin/posts/"))
    assert "June 3, 2025 at 01:30" in text_of(admin.get("/admin/comments/?status=pending"))


def test_feeds_give_the_same_instants_with_the_sites_offset(client: FlaskClient) -> None:
    save_settings({"timezone": "Europe/Berlin"})
    post = factories.make_post(title="Fed", published_at=LATE_MAY)
    factories.make_comment(post, created_at=datetime(2025, 6, 2, 22, 15, tzinfo=UTC))
    rss = etree.fromstring(client.get("/feed/").data)
    pub_date = rss.findtext("channel/item/pubDate")
    assert pub_date is not None and pub_date.endswith("+0200")
    assert parsedate_to_datetime(pub_date) == LATE_MAY
    atom = etree.fromstring(client.get(f"/blog/{post.slug}/feed/atom/").data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    published = atom.findtext("a:entry/a:published", namespaces=ns)
    assert published is not None and published.endswith("+02:00")
    assert datetime.fromisoformat(published) == datetime(2025, 6, 2, 22, 15, tzinfo=UTC)


def test_the_api_keeps_utc_times(client: FlaskClient, users: dict[Role, User]) -> None:
    save_settings({"timezone": "Europe/Berlin"})
    post = factories.make_post(users[Role.AUTHOR], title="Api", published_at=LATE_MAY)
    secret = create_token(users[Role.ADMIN].username).secret
    body = client.get(f"/api/v1/posts/{post.slug}", headers={"Authorization": f"Bearer {secret}"})
    assert body.status_code == 200
    published = datetime.fromisoformat(body.get_json()["published_at"].replace("Z", "+00:00"))
    assert published.utcoffset() == timedelta(0) and published == LATE_MAY


def test_the_post_forms_date_is_typed_and_shown_on_the_sites_clock(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    save_settings({"timezone": "Europe/Berlin"})
    client = client_as(Role.ADMIN)
    response = client.post(
        "/admin/posts/new",
        data={
            "title": "Typed in Berlin",
            "body": "Text.",
            "status": "published",
            "published_at": "2025-06-01T01:30",
            "comments_open": "y",
        },
    )
    assert response.status_code == 303
    post = db.session.scalars(select(Post).where(Post.title == "Typed in Berlin")).one()
    assert post.status == PostStatus.PUBLISHED and post.published_at == LATE_MAY
    form = client.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert 'value="2025-06-01T01:30"' in form


def test_the_settings_page_offers_zones_and_refuses_unknown_ones(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    admin = client_as(Role.ADMIN)
    page = admin.get("/admin/settings/").get_data(as_text=True)
    assert '<option value="Europe/Berlin"' in page and '<option value="UTC" selected' in page
    form = {k: v for k, v in form_values(Settings()).items() if v != ""}
    for bad in ("Mars/Olympus", "../../etc/passwd", "localtime", ""):
        refused = admin.post("/admin/settings/", data={**form, "timezone": bad})
        assert refused.status_code == 400
        assert "time zone" in refused.get_data(as_text=True)
        assert load_settings().timezone == "UTC"
    saved = admin.post("/admin/settings/", data={**form, "timezone": "Europe/Berlin"})
    assert saved.status_code == 303 and load_settings().timezone == "Europe/Berlin"
