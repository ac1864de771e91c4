"""What the spam filter reads of a comment: its features, each a short string.

The words of its text, the domains it links to, the number of links, the commenter's name,
email domain and website, the text's length, some tell-tale signs (money amounts, shouting) and
the browser family and system from the user agent.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

from blog.models import Comment
from blog.sanitize import short_references

# --- Features --------------------------------------------------------------------------------

# Every pattern here runs in time linear in the text (docs/limits.md): none may try an unbounded
# repetition again from each position of a long run, as `[a-z][a-z0-9+.-]*://` did (a word of
# 60,000 letters cost 20 s) and `\d+\s?usd` did on a long number.
_HREF = re.compile(r'href="([^"]*)"')
_TAG = re.compile(r"<[^<>]*>")
_URLISH = re.compile(r"(?:[a-z][a-z0-9+.-]{0,31}://|www\.)\S*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_MONEY = re.compile(r"[$€£¥]\s?\d|\d\s?[$€£¥]|\d\s?(?:usd|eur|btc|usdt)\b", re.IGNORECASE)
_UA_FAMILIES = [
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("bot", r"bot\b|crawl|spider|slurp|headless"),
        ("script", r"curl|wget|python|aiohttp|httpx|java/|okhttp|go-http|php|guzzle|axios|node"),
        ("edge", r"edg(?:e|a|ios)?/"),
        ("opera", r"opr/|opera"),
        ("firefox", r"firefox|fxios"),
        ("chrome", r"chrome|crios|chromium"),
        ("safari", r"safari|applewebkit"),
        ("ie", r"msie|trident"),
    )
]
_UA_SYSTEMS = [
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("android", r"android"),
        ("ios", r"iphone|ipad|ipod"),
        ("windows", r"windows"),
        ("mac", r"mac os|macintosh"),
        ("linux", r"linux|x11"),
    )
]


@dataclass(frozen=True)
class Sample:
    """What the filter reads of a comment: ``body_html`` is the sanitized text."""

    name: str = ""
    email: str = ""
    url: str = ""
    body_html: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, comment: Comment) -> Sample:
        return cls(
            comment.author_name,
            comment.author_email,
            comment.author_url,
            comment.body_html,
            comment.user_agent,
        )


def features(sample: Sample) -> frozenset[str]:
    """The comment's features, each a short string such as ``w:casino`` or ``link:example.ru``."""
    found: set[str] = set()
    hosts = link_hosts(sample.body_html)
    text = _URLISH.sub(" ", _decoded(_TAG.sub(" ", sample.body_html)))
    words = [w for w in _WORD.findall(text.casefold()) if 1 < len(w) <= 30]
    found.update("w:" + word for word in words)
    found.update(_domain_features("link", host) for host in hosts if host)
    found.update(_domain_features("linkdomain", _registered(host)) for host in hosts if host)
    found.update(_domain_features("linktld", host.rsplit(".", 1)[-1]) for host in hosts if host)
    found.add("links:" + _bucket(len(hosts), (0, 1, 2, 3, 6)))
    found.add("length:" + _bucket(len(text.strip()), (0, 20, 50, 100, 200, 400, 800, 1600)))
    if _MONEY.search(text):
        found.add("money")
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 10 and sum(c.isupper() for c in letters) > len(letters) / 2:
        found.add("shouting")
    if text.count("!") >= 3:
        found.add("exclamations")
    found.update(_name_features(sample.name))
    found.update(_email_features(sample.email))
    found.update(_url_features(sample.url))
    found.update(_agent_features(sample.user_agent))
    return frozenset(found)


def link_hosts(body_html: str) -> list[str]:
    """The host of each link of sanitized HTML, in order ("" for a link without one)."""
    return [host_of(_decoded(href)) for href in _HREF.findall(body_html)]


def _decoded(html: str) -> str:
    """Character references decoded; a reference of thousands of digits would make
    html.unescape raise (and cost quadratic time) without short_references."""
    return unescape(short_references(html))


def _domain_features(prefix: str, value: str) -> str:
    return f"{prefix}:{value}"


def host_of(url: str) -> str:
    """The lower-case host name of a URL without a leading ``www.``; "" when it has none."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _registered(host: str) -> str:
    """The last two labels of a host name (``shop.example.com`` -> ``example.com``)."""
    return ".".join(host.split(".")[-2:])


def _bucket(value: int, edges: Sequence[int]) -> str:
    """The band of ``value`` between sorted ``edges``: "0", "1", "3-5", "1600+"..."""
    for low, high in itertools.pairwise(edges):
        if value < high:
            return str(low) if high - low == 1 else f"{low}-{high - 1}"
    return f"{edges[-1]}+"


def _name_features(name: str) -> set[str]:
    words = _WORD.findall(name.casefold())
    if not words:
        return {"name:none"}
    found = {"name:" + word for word in words if len(word) <= 30}
    found.add("namewords:" + _bucket(len(words), (1, 2, 3, 4, 6)))
    if any(c.isdigit() for c in name):
        found.add("name:digits")
    if _URLISH.search(name) or re.search(r"\.(?:com|net|org|info|biz|ru|xyz)\b", name, re.I):
        found.add("name:domain")
    return found


def _email_features(email: str) -> set[str]:
    local, at, domain = email.casefold().rpartition("@")
    if not at or not domain:
        return {"email:none"}
    found = {"email:" + domain, "emailtld:" + domain.rsplit(".", 1)[-1]}
    if sum(c.isdigit() for c in local) >= 3:
        found.add("emaillocal:digits")
    return found


def _url_features(url: str) -> set[str]:
    host = host_of(url)
    if not host:
        return {"url:none"}
    found = {"url:" + host, "urldomain:" + _registered(host), "urltld:" + host.rsplit(".", 1)[-1]}
    try:
        path = urlsplit(url).path.strip("/")
    except ValueError:
        path = ""
    if path:
        found.add("url:path")
    return found


def _agent_features(agent: str) -> set[str]:
    if not agent.strip():
        return {"ua:none"}
    family = next((name for name, pattern in _UA_FAMILIES if pattern.search(agent)), "other")
    system = next((name for name, pattern in _UA_SYSTEMS if pattern.search(agent)), "other")
    return {"ua:" + family, "os:" + system}
