"""``flask blog check-links``: every internal link of the published site answers.

The site is crawled in-process with Flask's test client, as an anonymous reader: from the home
page, the sitemap (and the files of a sitemap index) and the address of every published post
and page. Each page fetched is read for its links (``href`` and ``src``); each internal link
(a path, or an absolute URL on the site's own origin) is asked once. A 200 is fine; a
redirect is followed once and is fine when it ends at a 200 (listed as a redirect, so that old
addresses in content can be updated); anything else is broken. The crawl stops after
``limit`` addresses.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from flask import Flask
from sqlalchemy import select

from blog.extensions import db
from blog.links import site_origin
from blog.models import Post
from blog.posts.pages import address_of
from blog.posts.reading import is_published

DEFAULT_LIMIT = 5000
MAX_HOPS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_LOC = re.compile(r"<loc>([^<]+)</loc>")
# Only these are read for more links: a page's comment links (?replytocom=) and pagers are
# asked, not crawled, so that the crawl stays within the site's pages.
_CRAWLED_TYPES = ("text/html",)
_READ_TYPES = ("text/html", "application/xml", "text/xml")


@dataclass
class LinkReport:
    checked: int = 0
    broken: list[tuple[str, int, str]] = field(default_factory=list)  # (url, status, from)
    redirects: list[tuple[str, str, str]] = field(default_factory=list)  # (url, to, from)
    truncated: bool = False


@dataclass(frozen=True)
class _Answer:
    status: int
    mimetype: str
    location: str
    body: str  # only of what is read for links


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "img", "link", "script", "source", "iframe"):
            for name, value in attrs:
                if name in ("href", "src") and value:
                    self.found.append(value)


def internal_path(url: str, base: str, origin: str) -> str | None:
    """The path (and query) of a link of this site, or None for another site's."""
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https"):
        return None
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _seeds() -> list[str]:
    posts = db.session.scalars(select(Post).where(is_published()).order_by(Post.id))
    return ["/", "/sitemap.xml", *(address_of(post) for post in posts)]


class _Crawl:
    def __init__(self, app: Flask, limit: int) -> None:
        self.client = app.test_client()
        self.origin = site_origin() or "http://localhost"
        self.limit = limit
        self.report = LinkReport()
        self.seen: set[str] = set()
        self.queue: deque[tuple[str, str]] = deque()

    def add(self, path: str, source: str) -> None:
        if path in self.seen:
            return
        if len(self.seen) >= self.limit:
            self.report.truncated = True
            return
        self.seen.add(path)
        self.queue.append((path, source))

    def run(self, seeds: list[str]) -> LinkReport:
        for seed in seeds:
            self.add(seed, "(start)")
        while self.queue:
            path, source = self.queue.popleft()
            self.visit(path, source)
        self.report.checked = len(self.seen)
        return self.report

    def get(self, path: str) -> _Answer:
        response = self.client.get(path, base_url=self.origin)
        try:
            body = response.get_data(as_text=True) if response.mimetype in _READ_TYPES else ""
            location = response.headers.get("Location", "")
            return _Answer(response.status_code, response.mimetype or "", location, body)
        finally:
            response.close()  # a static file's answer holds the file open until then

    def visit(self, path: str, source: str) -> None:
        answer = self.get(path)
        if answer.status in _REDIRECTS:
            self.follow(path, source, answer)
        elif answer.status != 200:
            self.report.broken.append((path, answer.status, source))
        else:
            self.read(path, answer.mimetype, answer.body)

    def follow(self, path: str, source: str, answer: _Answer) -> None:
        """A redirect is fine when it ends at a 200 within MAX_HOPS (another site's counts)."""
        target: str | None = path
        for _hop in range(MAX_HOPS):
            target = internal_path(answer.location, self.origin + (target or ""), self.origin)
            if target is None:  # to another site: not ours to check
                return
            answer = self.get(target)
            if answer.status not in _REDIRECTS:
                break
        if answer.status == 200 and target is not None:
            self.report.redirects.append((path, target, source))
            self.add(target, path)
        else:
            self.report.broken.append((path, answer.status, source))

    def read(self, path: str, mimetype: str, body: str) -> None:
        if mimetype in ("application/xml", "text/xml") and "sitemap" in path:
            links = _LOC.findall(body)
        elif mimetype in _CRAWLED_TYPES and "?" not in path:
            parser = _Links()
            parser.feed(body)
            links = parser.found
        else:
            return
        for link in links:
            found = internal_path(link, self.origin + path, self.origin)
            if found is not None:
                self.add(found, path)


def check_links(app: Flask, limit: int = DEFAULT_LIMIT) -> LinkReport:
    """Crawl the published site (inside an app context) and report broken links and redirects."""
    return _Crawl(app, limit).run(_seeds())
