"""axe-core in Chromium finds no WCAG 2.1 A or AA violation on any public or admin page.

axe-core comes from the npm registry (package.json; `make test` runs `npm ci`). It is injected into
each page through playwright and run with the WCAG 2.0/2.1 A and AA rules. The walk covers every
public page, a post with many comments, a reply form and a sign-in form with errors, and every
admin page as an admin, including a queue with many rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from blog.extensions import db
from blog.models import CommentStatus, Role
from blog.porting.demo import load_demo
from tests import factories
from tests.live import LiveServer
from tests.paths import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, A and AA; and axe's best practices (one h1, unique landmarks), which the
# issue's audit of the pages also counted.
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture
def axe() -> Iterator[str]:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `npm ci` (make test runs it) fetches it from npm")
    yield str(AXE)


def violations(page: Any, axe_path: str) -> list[str]:
    """axe's violations on the page as loaded: rule, impact and the first offending elements."""
    page.add_script_tag(path=axe_path)
    found = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: "tag", values: tags}})
            .then(result => result.violations.map(v => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            })))""",
        RULES,
    )
    return [f"{v['id']} ({v['impact']}): {', '.join(v['nodes'])}" for v in found]


def seed(live_server: LiveServer) -> dict[str, Any]:
    """The demo, a post with many comments, a long queue and staff to sign in as."""
    with live_server.app.app_context():
        load_demo()
        admin = factories.make_user(Role.ADMIN, username="boss")
        busy = factories.make_post(title="A busy post", tags=["busy"])
        for i in range(60):
            factories.make_comment(busy, body=f"Comment number {i}, with some words.")
        for i in range(40):
            factories.make_comment(busy, status=CommentStatus.PENDING, body=f"Held {i}")
        seeded = {
            "busy": busy.slug,
            "post_id": busy.id,
            "admin": admin.username,
            "user_id": admin.id,
            "media_id": factories.make_media(admin).id,
        }
        db.session.commit()
    return seeded


def public_paths(seeded: dict[str, Any]) -> list[str]:
    paths = [
        "/",
        "/blog/",
        "/blog/kaspersky-closing-down-its-uk-office/",
        f"/blog/{seeded['busy']}/",
        "/search/?q=office",
        "/search/?q=nothing-matches-this",
        "/tag/busy/",
        "/archive/2024/",
        "/category/uncategorized/",
        "/author/evans-asare/",
        "/login",
    ]
    return paths


def admin_paths(seeded: dict[str, Any]) -> list[str]:
    return [
        "/admin/",
        "/admin/posts/",
        "/admin/posts/new",
        f"/admin/posts/{seeded['post_id']}/edit",
        "/admin/categories/",
        "/admin/comments/",
        "/admin/comments/?status=approved",
        "/admin/comments/cleanup",
        "/admin/users/",
        "/admin/users/new",
        f"/admin/users/{seeded['user_id']}/",
        "/admin/settings/",
        "/admin/profile/",
        "/admin/media/",
        f"/admin/media/{seeded['media_id']}",
        f"/admin/media/{seeded['media_id']}/delete",
        "/admin/pages/",
        "/admin/pages/new",
        f"/admin/posts/{seeded['post_id']}/revisions/",
        f"/admin/posts/{seeded['post_id']}/revisions/compare",
    ]


def check(page: Any, axe_path: str, label: str, found: dict[str, list[str]]) -> None:
    problems = violations(page, axe_path)
    if problems:
        found[label] = problems


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A page whose CSP lets playwright add axe's script tag (the site's own CSP forbids inline
    scripts, which is what the other browser tests check)."""
    context = browser.new_context(bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_no_wcag_violation_on_public_and_admin_pages(
    live_server: LiveServer, browser_page: Any, axe: str
) -> None:
    seeded = seed(live_server)
    found: dict[str, list[str]] = {}
    for path in public_paths(seeded):
        assert browser_page.goto(live_server(path)).status == 200, path
        check(browser_page, axe, path, found)
    # Forms with errors: an empty reply and a wrong password.
    browser_page.goto(live_server(f"/blog/{seeded['busy']}/"))
    browser_page.evaluate(
        "document.querySelectorAll('[required]').forEach(e => e.required = false)"
    )
    browser_page.click("#respond button[value=post]")
    browser_page.wait_for_load_state()
    check(browser_page, axe, "reply form with errors", found)
    browser_page.goto(live_server("/login"))
    browser_page.fill("#username", seeded["admin"])
    browser_page.fill("#password", "not the password")
    browser_page.click("form button[type=submit]")
    browser_page.wait_for_load_state()
    check(browser_page, axe, "sign-in with errors", found)
    browser_page.fill("#username", seeded["admin"])
    browser_page.fill("#password", factories.PASSWORD)
    browser_page.click("form button[type=submit]")
    browser_page.wait_for_load_state()
    for path in admin_paths(seeded):
        assert browser_page.goto(live_server(path)).status == 200, path
        check(browser_page, axe, path, found)
    # The public pages as staff see them: the admin bar and the moderation links.
    for path in ("/", f"/blog/{seeded['busy']}/"):
        browser_page.goto(live_server(path))
        check(browser_page, axe, f"{path} signed in", found)
    browser_page.goto(live_server("/admin/posts/new"))
    browser_page.click("form.post-form button[type=submit] >> nth=-1")
    browser_page.wait_for_load_state()
    check(browser_page, axe, "post form with errors", found)
    report = [f"{where}: {problem}" for where, problems in found.items() for problem in problems]
    assert found == {}, "\n".join(report)
