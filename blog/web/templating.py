"""Template context: the site's settings, date formatting, counts; and the security headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, request, url_for
from werkzeug.wrappers import Response

from blog.comments.notifications import sends_mail
from blog.links import absolute, this_page
from blog.models import Category
from blog.posts import reading as posts
from blog.posts.menus import menu_items
from blog.posts.pages import address_of
from blog.settings import site_settings
from blog.web.access import admin_menu
from blog.web.admin_bar import admin_bar, comment_moderation
from blog.web.commenter import remembered_commenter
from blog.web.memoized import sidebar_data
from blog.web.static_urls import init_app as fingerprint_static_urls

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors {frame_ancestors}"
)


def format_date(value: datetime | None) -> str:
    """WordPress's default date format, in the site's time zone: "March 3, 2025"."""
    if value is None:
        return ""
    local = value.astimezone(site_settings().zone)
    return f"{local.strftime('%B')} {local.day}, {local.year}"


def format_time(value: datetime | None) -> str:
    """The date and the time of day, in the site's time zone: "March 3, 2025 at 14:05"."""
    if value is None:
        return ""
    local = value.astimezone(site_settings().zone)
    return f"{format_date(local)} at {local.strftime('%H:%M')}"


def breadcrumb_items(crumbs: list[posts.Crumb]) -> list[dict[str, Any]]:
    """schema.org BreadcrumbList items; the current page has no ``item`` URL."""
    items: list[dict[str, Any]] = []
    for position, crumb in enumerate(crumbs, start=1):
        item: dict[str, Any] = {"@type": "ListItem", "position": position, "name": crumb.label}
        if crumb.url:
            item["item"] = absolute(crumb.url)
        items.append(item)
    return items


def archive_breadcrumbs(kind: str, heading: str, chain: list[Category]) -> list[posts.Crumb]:
    """Site title > Blog > (parent categories) > the archive."""
    crumbs = [posts.Crumb(site_settings().site_title, url_for("public.home"))]
    if kind == "blog":
        return [*crumbs, posts.Crumb("Blog", None)]
    crumbs.append(posts.Crumb("Blog", url_for("public.blog")))
    for category in chain[:-1]:
        path = posts.category_path(category)
        crumbs.append(posts.Crumb(category.name, url_for("public.category", path=path)))
    return [*crumbs, posts.Crumb(heading, None)]


def _context() -> dict[str, Any]:
    return {"site": site_settings(), "comments_label": posts.comments_label}


def _security_headers(response: Response) -> Response:
    admin = request.path.startswith(("/admin", "/login"))
    response.headers.setdefault(
        "Content-Security-Policy", CSP.format(frame_ancestors="'none'" if admin else "'self'")
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if admin:
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.add_template_global(posts.category_path, "category_path")
    app.add_template_global(sidebar_data, "sidebar_data")
    app.add_template_global(breadcrumb_items, "breadcrumb_items")
    app.add_template_global(absolute, "absolute_url")
    app.add_template_global(this_page, "this_page")
    app.add_template_global(archive_breadcrumbs, "archive_breadcrumbs")
    app.add_template_global(remembered_commenter, "remembered_commenter")
    app.add_template_global(admin_menu, "admin_menu")
    app.add_template_global(sends_mail, "sends_mail")
    app.add_template_global(admin_bar, "admin_bar")
    app.add_template_global(comment_moderation, "comment_moderation")
    app.add_template_global(menu_items, "site_menu")
    app.add_template_global(address_of, "address_of")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_time, "datetime")
    app.after_request(_security_headers)
    fingerprint_static_urls(app)
