"""``python -m bench.worst``: the cost of the worst comments at the size limit, in process.

Each hostile shape of :data:`SHAPES` is posted as a reply (the HTML form), then the moderation
queue is shown with it pending, it is approved, and the post page is shown with it. Each step's
CPU time (``time.process_time``) is printed beside a typical reply's, at half the size limit
(1x) and at the limit (2x): the ratio shows how the cost grows with the input. The spam filter is
trained first, so that scoring runs on submission and on the queue page.

The shapes are also the hostile bodies of ``tests/comments/test_hostile_bodies.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from blog import create_app
from blog.comments.spam.filter import SPAM, SpamModel, save_model
from blog.comments.submit import BODY_MAX_BYTES, BODY_MAX_LINES, BODY_MAX_LINKS, BODY_MAX_MARKUP
from blog.extensions import db
from blog.models import Comment, Role, User
from blog.porting.wordpress_content import comment_text, wordpress_html
from blog.posts.authoring import create_post
from blog.settings import save_settings

TYPICAL = (
    "Thanks for this write-up! I tried the second approach on our staging box and it cut the\n"
    "build time in half. One question: does it still work when the cache lives on NFS?\n\n"
    "There is a longer discussion at https://example.org/notes/caching-on-nfs (see the\n"
    '<em>last</em> section), and <a href="https://example.com/bench">my figures</a> are here.'
)


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head`` + ``unit`` repeated + ``tail``, at most ``size`` UTF-8 bytes."""
    room = size - len((head + tail).encode())
    return head + unit * (room // len(unit.encode())) + tail


def _spread(start: str, separator: str, count: int, size: int) -> str:
    """``count`` pieces, each ``start`` and as many letters as fit, joined by ``separator``."""
    room = size // count - len((start + separator).encode())
    return separator.join([start + "a" * max(0, room)] * count)


# A body of at most the given number of UTF-8 bytes, for each shape the issue names.
SHAPES: dict[str, Callable[[int], str]] = {
    "one long word": lambda n: _repeat("a", n),
    "long run of digits": lambda n: _repeat("7", n),
    "dotted run": lambda n: _repeat("a.", n),
    "scheme-like run": lambda n: _repeat("a", n, tail="://example.com/"),
    "url with a long path": lambda n: _repeat("a", n, head="http://example.com/"),
    "huge decimal reference": lambda n: _repeat("9", n, "&#", ";"),
    "huge hex reference": lambda n: _repeat("f", n, "&#x", ";"),
    "reference with long zeros": lambda n: _repeat("0", n, "&#", "106;"),
    "escaped huge reference in href": lambda n: _repeat("9", n, '<a href="&amp;#', ';">x</a>'),
    "huge named reference": lambda n: _repeat("a", n, "&", ";"),
    "many references": lambda n: _repeat("&#x1F600;", n),
    "many ampersands": lambda n: _repeat("&", n),
    "many lines": lambda n: _repeat("x\n", n),
    "many paragraphs": lambda n: _repeat("x\n\n", n),
    "combining marks": lambda n: _repeat("\u0301", n, head="a"),
    "right-to-left marks": lambda n: _repeat("\u202eab\u202c", n),
    "mixed scripts": lambda n: _repeat("aя中ع😀\u200d", n),
    "deep nesting": lambda n: _repeat("<blockquote>", n, tail="x"),
    "unclosed tags": lambda n: _repeat("<b>", n, tail="x"),
    "unclosed attribute": lambda n: _repeat("x", n, head='<a title="'),
    "unclosed href": lambda n: _repeat("x", n, head='<a href="http://'),
    "unclosed comment": lambda n: _repeat("x", n, head="text <!--"),
    "many less-than signs": lambda n: _repeat("<", n),
    "open parentheses": lambda n: _repeat("(", n),
    "bare links": lambda n: _repeat("http://example.com/ ", n),
    "www links": lambda n: _repeat("www.", n),
    "anchors": lambda n: _repeat('<a href="http://example.com/">x</a> ', n),
    "emails": lambda n: _repeat("a@example.com ", n),
    # The worst that the limits of lines and links let through.
    "lines at the line limit": lambda n: _spread("x", "\n", BODY_MAX_LINES, n),
    "paragraphs at the line limit": lambda n: _spread("x", "\n\n", BODY_MAX_LINES // 2, n),
    "links at the link limit": lambda n: _spread("http://example.com/", " ", BODY_MAX_LINKS, n),
    "less-than signs at the markup limit": lambda n: _spread("<", "", BODY_MAX_MARKUP, n),
    "ampersands at the markup limit": lambda n: _spread("&", "", BODY_MAX_MARKUP, n),
    "tags at the markup limit": lambda n: _spread("<b>", "", BODY_MAX_MARKUP // 2, n),
    "nesting at the markup limit": lambda n: _spread("<blockquote>", "", BODY_MAX_MARKUP // 2, n),
    "anchors at the link limit": lambda n: _spread(
        '<a href="http://example.com/">', "</a> ", BODY_MAX_LINKS, n
    ),
}


# WordPress markup in an imported post or comment (an administrator's upload, up to 1 MiB).
IMPORT_SHAPES: dict[str, Callable[[int], str]] = {
    "unclosed captions": lambda n: _repeat("[caption", n, tail="[/caption]"),
    "galleries without closer": lambda n: _repeat("[gallery]", n, tail="[/playlist]"),
    "audio without closer": lambda n: _repeat("[audio]", n),
    "unclosed HTML comments": lambda n: _repeat("<!--", n),
    "unclosed pre": lambda n: _repeat("<pre>", n),
    "long run of spaces": lambda n: _repeat(" ", n, "a", "b"),
    "unclosed more tags": lambda n: _repeat("<!--more", n),
    "block tags without >": lambda n: _repeat("<p><div ", n),
    "list items on a line": lambda n: _repeat("<p><li", n, tail="\nx"),
    "scripts without closer": lambda n: _repeat("<script>", n, tail="</style>"),
}


@dataclass
class Costs:
    post: float = 0.0
    queue: float = 0.0
    approve: float = 0.0
    page: float = 0.0
    status: int = 0


@contextmanager
def blog(workdir: Path) -> Iterator[Flask]:
    """The blog on a fresh SQLite file, with a moderator, a post and a trained spam filter."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'worst.sqlite3'}",
            "SECRET_KEY": "worst-case bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        },
        instance_path=str(workdir / "instance"),
    )
    with app.app_context():
        db.create_all()
        admin = User(username="mod", display_name="Mod", email="mod@example.com",
                     password_hash="x", role=Role.ADMIN)  # fmt: skip
        db.session.add(admin)
        db.session.commit()
        create_post(admin, "Worst", "A post.", slug="worst")
        save_settings({"flood_interval_seconds": 0, "comment_max_links": 1000})
        model = SpamModel()
        for n in range(40):
            model.learn({f"w:word{n % 7}", "links:0", "ua:none"}, n % 2)
        model.learn({"w:casino"}, SPAM)
        save_model(model)
        db.session.commit()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def _timed(action: Callable[[], int]) -> tuple[float, int]:
    start = time.process_time()
    status = action()
    return time.process_time() - start, status


def measure(app: Flask, client: FlaskClient, body: str, n: int) -> Costs:
    """Post ``body`` as a reader's reply; as the moderator (``client``) show the queue, approve
    it and show the post page."""
    form = {"name": f"Reader {n}", "email": f"r{n}@example.org", "body": body}
    costs = Costs()
    reader = app.test_client()
    costs.post, costs.status = _timed(
        lambda: reader.post("/blog/worst/comments", data=form).status_code
    )
    if costs.status != 303:
        return costs
    with app.app_context():
        comment_id = db.session.scalar(db.select(db.func.max(Comment.id)))
    costs.queue, queue = _timed(lambda: client.get("/admin/comments/").status_code)
    costs.approve, approve = _timed(
        lambda: client.post(f"/admin/comments/{comment_id}/approve").status_code
    )
    costs.page, page = _timed(lambda: client.get("/blog/worst/").status_code)
    if (queue, approve, page) != (200, 303, 200):
        raise RuntimeError(f"queue {queue}, approve {approve}, page {page}: not measured")
    with app.app_context():  # leave the page and queue as they were for the next shape
        db.session.execute(db.delete(Comment).where(Comment.id == comment_id))
        db.session.commit()
    return costs


def run(names: list[str]) -> int:
    sizes = (BODY_MAX_BYTES // 2, BODY_MAX_BYTES)
    print("CPU seconds per request (in process, SQLite; the machine is shared, figures noisy)")
    print(f"{'shape':32} {'size':>6} {'code':>4} {'post':>6} {'queue':>6} "
          f"{'approve':>7} {'page':>6}  x2/x1")  # fmt: skip
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp, blog(Path(tmp)) as app:
        client = app.test_client()
        with app.app_context():
            user_id = db.session.get(User, 1).get_id()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = user_id, True
        measure(app, client, TYPICAL, 0)  # warm up: templates, parsers, the model
        typical = measure(app, client, TYPICAL, 1)
        _print("typical reply", len(TYPICAL.encode()), typical, None)
        for number, name in enumerate(names, start=2):
            half, full = (measure(app, client, SHAPES[name](s), number * 2 + i)
                          for i, s in enumerate(sizes))  # fmt: skip
            _print(name, sizes[1], full, half)
            worst = max(worst, full.post, full.queue, full.approve, full.page)
    print(f"\nworst request at the limit: {worst:.3f} s CPU")
    _run_import()
    return 0


def _run_import() -> None:
    """The WordPress markup conversions of an import, at 512 kB and 1 MiB of hostile content."""
    print("\nWXR import markup (post and comment conversions), CPU seconds")
    for name, make in IMPORT_SHAPES.items():
        costs = []
        for size in (512 * 1024, 1024 * 1024):
            content = make(size)
            start = time.process_time()
            wordpress_html(content)
            comment_text(content)
            costs.append(time.process_time() - start)
        print(f"{name:32} 1 MiB {costs[1]:6.3f}  x2/x1 {costs[1] / max(costs[0], 1e-6):5.2f}")


def _total(costs: Costs) -> float:
    return costs.post + costs.queue + costs.approve + costs.page


def _print(name: str, size: int, costs: Costs, half: Costs | None) -> None:
    ratio = f"{_total(costs) / max(_total(half), 1e-6):5.2f}" if half else "    -"
    print(f"{name[:32]:32} {size:6} {costs.status:4} {costs.post:6.3f} {costs.queue:6.3f} "
          f"{costs.approve:7.3f} {costs.page:6.3f}  {ratio}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", help="shapes to run (default: all)")
    names = parser.parse_args(argv).shapes or list(SHAPES)
    unknown = [name for name in names if name not in SHAPES]
    if unknown:
        parser.error(f"unknown shapes: {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    return run(names)


if __name__ == "__main__":
    sys.exit(main())
