"""Faults against the real app in gunicorn: nothing acknowledged is lost.

The app runs as in production (``gunicorn -w 2``, sync workers, configured by ``BLOG_*`` variables
and an instance ``config.py``) on the test database: an SQLite file, or a PostgreSQL schema of its
own. Readers post comments from several threads while a moderator approves and trashes, and

- a worker is killed (SIGKILL) mid-load: every comment answered with a 303 is stored exactly once,
  the requests cut off are stored once or not at all, and the comment counts stay exact;
- PostgreSQL stops (a proxy in this process closes every connection and refuses new ones): pages
  and posts answer 503, the typed comment shown back, never a 500 or a hang; when it starts again
  the same workers answer, and what was acknowledged before is still there;
- another process holds SQLite's write lock: posting answers 503 while reading still works, and
  posting works again as soon as the lock is released.

These tests start processes: they share one xdist group so that two never run at once.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import OperationalError

from bench.load import child_pids, free_port, stop_process_group
from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from blog.settings import save_settings
from tests import factories
from tests.paths import ROOT
from tests.services import PG_SKIP_REASON, PG_URL

GUNICORN = Path(sys.executable).with_name("gunicorn")
REQUEST_TIMEOUT_S = 15  # a request that takes longer is a hang, and fails the test
DEADLINE_S = 30  # for any condition the tests wait for
USER_AGENT = "blog-fault-test/1"
POSTERS = 4
ACKS_BETWEEN_KILLS = 15
SECRET_KEY = "fault-test-secret-key"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gunicorn")]
needs_postgresql = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

# Anything that says the connection ended without a response: the worker died under it.
CUT_OFF = (ConnectionError, http.client.HTTPException)


# --- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def comment_id(self) -> int | None:
        found = re.search(r"#comment-(\d+)$", self.headers.get("Location", ""))
        return int(found.group(1)) if found else None


def send(
    port: int, method: str, path: str, form: dict[str, Any] | None = None, cookie: str = ""
) -> Reply:
    """One request on a connection of its own; redirects are not followed."""
    headers = {"User-Agent": USER_AGENT, "Connection": "close"}
    body = None
    if form is not None:
        body = urlencode(form, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["Cookie"] = cookie
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read().decode())
    finally:
        connection.close()


def comment_form(body: str, n: int) -> dict[str, str]:
    return {"name": f"Reader {n}", "email": f"reader{n}@example.org", "body": body}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- gunicorn ---------------------------------------------------------------------------------


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[int]:
        return child_pids(self.process.pid)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def gunicorn(tmp_path: Path, database_url: str, **config: Any) -> Iterator[Gunicorn]:
    """``gunicorn -w 2 blog:create_app(...)`` on a free port, configured as in production:
    the database and secret key from ``BLOG_*`` variables, the rest from the instance config."""
    instance = tmp_path / "gunicorn-instance"
    instance.mkdir(exist_ok=True)
    settings = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, **config}
    (instance / "config.py").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in settings.items())
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("BLOG_")}
    env |= {"BLOG_DATABASE_URL": database_url, "BLOG_SECRET_KEY": SECRET_KEY}
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [
        str(GUNICORN), "-w", "2", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
        "--graceful-timeout", "5", f"blog:create_app(None, {str(instance)!r})",
    ]  # fmt: skip
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(process, port, log)
    try:
        wait_for(lambda: _answers(server), f"gunicorn to answer ({log})")
        yield server
    finally:
        stop_process_group(process)


def _answers(server: Gunicorn) -> bool:
    if server.process.poll() is not None:
        pytest.fail(f"gunicorn exited:\n{server.log_tail()}")
    if len(server.workers()) < 2:
        return False
    try:
        return send(server.port, "GET", "/").status == 200
    except OSError:
        return False


def sqlalchemy_url(database: dict[str, Any]) -> str:
    return str(database["SQLALCHEMY_DATABASE_URI"])


def engine_options(database: dict[str, Any]) -> dict[str, Any]:
    """The test database's engine options (the PostgreSQL schema), for the instance config."""
    options = database.get("SQLALCHEMY_ENGINE_OPTIONS")
    return {"SQLALCHEMY_ENGINE_OPTIONS": options} if options else {}


# --- the blog's data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Blog:
    slugs: list[str]
    moderator: str


def seed(post_count: int = 2) -> Blog:
    """Posts to comment on, a moderator, and no flood interval (every test reader is 127.0.0.1)."""
    save_settings({"flood_interval_seconds": 0})
    moderator = factories.make_user(role=Role.MODERATOR, username="moderator")
    slugs = [factories.make_post(title=f"Under fire {i}").slug for i in range(post_count)]
    db.session.commit()
    return Blog(slugs, moderator.username)


def stored_bodies(prefix: str) -> Counter[str]:
    """How many times each comment text starting with ``prefix`` is stored."""
    db.session.rollback()  # see what the server committed
    rows = db.session.scalars(
        select(Comment.body_source).where(Comment.body_source.like(f"{prefix}%"))
    )
    return Counter(rows)


def stored_ids(prefix: str) -> dict[str, int]:
    db.session.rollback()
    rows = db.session.execute(
        select(Comment.body_source, Comment.id).where(Comment.body_source.like(f"{prefix}%"))
    )
    return dict(rows.tuples().all())


def sign_in(port: int, username: str) -> str:
    """Sign in through the login form; the session cookie to send."""
    reply = send(port, "POST", "/login", {"username": username, "password": factories.PASSWORD})
    assert reply.status == 303, reply.text[:500]
    cookie = reply.headers["Set-Cookie"]
    return cookie.split(";", 1)[0]


# --- 1. a worker killed mid-load --------------------------------------------------------------


@dataclass
class Load:
    """What the client threads saw: per comment text, the id acknowledged, or a cut-off."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    cut_off: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    moderated: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acks(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def wait_for_more(self, n: int) -> None:
        """Wait until ``n`` more comments have been acknowledged (the server is still serving)."""
        mark = self.acks()
        wait_for(lambda: self.acks() >= mark + n, f"{n} more acknowledged comments")

    def newest_ids(self, n: int) -> list[int]:
        with self.lock:
            return sorted(self.acknowledged.values())[-n:]


def post_comments(port: int, blog: Blog, load: Load, thread: int) -> None:
    n = 0
    while not load.stop.is_set():
        n += 1
        body = f"Fault comment {thread}-{n}: still here after the crash."
        slug = blog.slugs[n % len(blog.slugs)]
        try:
            reply = send(port, "POST", f"/blog/{slug}/comments", comment_form(body, thread))
        except CUT_OFF:
            with load.lock:
                load.cut_off.add(body)
            continue
        except Exception as error:  # a timeout is a hang: reported, the test fails
            load.unexpected.append(f"{body!r}: {error!r}")
            continue
        with load.lock:
            if reply.status == 303 and reply.comment_id is not None:
                load.acknowledged[body] = reply.comment_id
            else:
                load.unexpected.append(f"{body!r}: {reply.status} {reply.text[:300]}")


def moderate(port: int, cookie: str, load: Load) -> None:
    """Approve the newest comments in bulk; now and then trash one and restore it."""
    n = 0
    while not load.stop.is_set():
        n += 1
        ids = load.newest_ids(6)
        if not ids:
            load.stop.wait(0.05)  # nothing to moderate yet
            continue
        steps = [("/admin/comments/bulk", {"action": "approve", "ids": ids})]
        if n % 4 == 0:
            steps += [(f"/admin/comments/{ids[-1]}/{act}", {}) for act in ("trash", "restore")]
        for path, form in steps:
            try:
                reply = send(port, "POST", path, form, cookie=cookie)
            except CUT_OFF:
                continue
            except Exception as error:
                load.unexpected.append(f"{path}: {error!r}")
                continue
            # 409: a restore whose trash was cut off by a kill.
            if reply.status not in (303, 409):
                load.unexpected.append(f"{path}: {reply.status} {reply.text[:300]}")
            else:
                load.moderated += 1


class PostInFlight:
    """A comment POST sent with half its body: the worker that takes it waits for the rest, so
    killing that worker cuts this request off for certain (a random kill can find a worker
    between two requests, the more often the faster replies are)."""

    def __init__(self, port: int, slug: str, body: str, n: int) -> None:
        self.body = body
        form = urlencode(comment_form(body, n)).encode()
        head = (
            f"POST /blog/{slug}/comments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"User-Agent: {USER_AGENT}\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n"
        ).encode()
        self.rest = form[len(form) // 2 :]
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT_S)
        self.sock.sendall(head + form[: len(form) // 2])

    def worker(self, server: Gunicorn) -> int | None:
        """The worker holding this connection, once one has accepted it."""
        client = self.sock.getsockname()[1]
        inode = _accepted_inode(server.port, client)
        for pid in server.workers() if inode else []:
            with suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                            return pid
        return None

    def finish(self) -> bytes:
        """The rest of the body, then the answer; b"" when the connection was cut off."""
        try:
            self.sock.sendall(self.rest)
            return self.sock.recv(65536)
        except OSError:
            return b""
        finally:
            self.sock.close()


def _accepted_inode(server_port: int, client_port: int) -> int:
    """The inode of the server side of a loopback connection (0 until it is accepted)."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote = (int(a.split(":")[1], 16) for a in fields[1:3])
            if local == server_port and remote == client_port:
                return int(fields[9])
    return 0


def kill_a_worker(server: Gunicorn, victim: int | None = None) -> None:
    """SIGKILL one worker (the first, unless told) and wait until the master has started
    another in its place."""
    victim = victim or server.workers()[0]
    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        workers = server.workers()
        return victim not in workers and len(workers) == 2

    wait_for(replaced, f"gunicorn to replace worker {victim}")


def test_killing_workers_mid_load_loses_and_doubles_no_acknowledged_comment(
    app: Flask, database: dict[str, Any], tmp_path: Path
) -> None:
    blog = seed()
    load = Load()
    with gunicorn(tmp_path, sqlalchemy_url(database), **engine_options(database)) as server:
        cookie = sign_in(server.port, blog.moderator)
        threads = [
            threading.Thread(target=post_comments, args=(server.port, blog, load, i))
            for i in range(POSTERS)
        ]
        threads.append(threading.Thread(target=moderate, args=(server.port, cookie, load)))
        for thread in threads:
            thread.start()
        kills = 0
        try:
            load.wait_for_more(ACKS_BETWEEN_KILLS)
            for _ in range(2):  # wherever the workers are
                kill_a_worker(server)
                kills += 1
                load.wait_for_more(ACKS_BETWEEN_KILLS)
            if not load.cut_off:  # neither was in a request: kill one that certainly is
                post = PostInFlight(server.port, blog.slugs[0], "Fault comment in flight.", 9)
                holders: list[int] = []

                def taken() -> bool:
                    holders[:] = [pid for pid in [post.worker(server)] if pid]
                    return bool(holders)

                wait_for(taken, "a worker to take the comment in flight")
                kill_a_worker(server, holders[0])
                kills += 1
                assert post.finish() == b"", "the comment in flight was answered"
                with load.lock:
                    load.cut_off.add(post.body)
                load.wait_for_more(ACKS_BETWEEN_KILLS)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT_S * 2)
        log = server.log_tail()

    assert load.unexpected == [], load.unexpected
    assert load.cut_off, f"{kills} kills cut no request off; the test proved nothing"
    assert load.moderated > 0
    stored = stored_bodies("Fault comment ")
    assert [body for body, n in stored.items() if n > 1] == []  # nothing stored twice
    ids = stored_ids("Fault comment ")
    lost = {body: cid for body, cid in load.acknowledged.items() if ids.get(body) != cid}
    assert lost == {}, f"acknowledged but not stored as acknowledged; gunicorn said:\n{log}"
    assert set(ids) <= set(load.acknowledged) | load.cut_off  # nothing stored that was refused
    assert find_drift() == []
    approved = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.status == CommentStatus.APPROVED)
    )
    assert approved and db.session.scalar(select(func.sum(Post.comment_count))) == approved


# --- 2. the database stopped and started ------------------------------------------------------


class DatabaseProxy:
    """A TCP proxy in front of PostgreSQL that plays a database server stopping and starting:
    ``stop()`` closes every connection and refuses new ones, ``start()`` accepts them again."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._run(self._start())

    def stop(self) -> None:
        self._run(self._stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()  # refuse new connections
        for writer in list(self._writers):
            writer.transport.abort()  # and drop the open ones, as a stopped server does
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        pair = {writer}
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            pair.add(up_writer)
            self._writers |= pair
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        except OSError:
            pass
        finally:
            self._writers -= pair
            for each in pair:
                each.transport.abort()
            self._tasks.discard(task)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy bytes one way; when the source ends, close the sink so that the other way ends too."""
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.transport.abort()


@pytest.fixture
def database_proxy() -> Iterator[DatabaseProxy]:
    upstream = make_url(PG_URL)
    proxy = DatabaseProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


def assert_outage_page(reply: Reply, typed: str = "") -> None:
    assert reply.status == 503, reply.text[:500]
    assert reply.headers["Retry-After"]
    assert "Temporarily unavailable" in reply.text
    if typed:
        assert escape(typed, quote=False) in reply.text  # the typed comment, shown back


@needs_postgresql
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_stopped_and_started_gives_503_then_serves_again_without_a_restart(
    app: Flask, database: dict[str, Any], tmp_path: Path, database_proxy: DatabaseProxy
) -> None:
    blog = seed(post_count=1)
    slug = blog.slugs[0]
    path = f"/blog/{slug}/"
    url = make_url(PG_URL).set(host="127.0.0.1", port=database_proxy.port)
    with gunicorn(
        tmp_path, url.render_as_string(hide_password=False), **engine_options(database)
    ) as server:
        port = server.port
        before = [f"Before the outage {i}" for i in range(6)]
        for i, body in enumerate(before):  # the workers now hold pooled connections
            assert send(port, "POST", f"{path}comments", comment_form(body, i)).status == 303
            assert send(port, "GET", path).status == 200

        # Restarted while idle: the pooled connections are dead and no request has noticed yet.
        database_proxy.stop()
        database_proxy.start()
        # (Each with a query of its own, so that the app itself answers: see below.)
        assert [send(port, "GET", f"{path}?restarted={n}").status for n in range(6)] == [200] * 6

        database_proxy.stop()
        during = [f"Typed during the <outage> {i} & kept" for i in range(4)]
        for i, body in enumerate(during):
            # A query of its own: the page a worker answered in the last second would be
            # replayed without the database (blog.cache.replay); this asks the app itself.
            assert_outage_page(send(port, "GET", f"{path}?during={i}"))
            assert_outage_page(send(port, "POST", f"{path}comments", comment_form(body, i)), body)
        assert_outage_page(send(port, "GET", "/?during=outage"))  # "/" itself: see above

        database_proxy.start()
        after = [f"After the outage {i}" for i in range(6)]
        for i, body in enumerate(after):
            assert send(port, "GET", path).status == 200
            assert send(port, "POST", f"{path}comments", comment_form(body, i)).status == 303
        assert server.workers() and server.process.poll() is None

    assert stored_bodies("Before the outage") == Counter(before)
    assert stored_bodies("Typed during the") == Counter()  # a 503 stored nothing
    assert stored_bodies("After the outage") == Counter(after)


@needs_postgresql
def test_the_version_read_survives_a_restart_that_dropped_every_pooled_connection(
    database_proxy: DatabaseProxy,
) -> None:
    """The read each cached page costs skips the pre-ping round trip; a restart is noticed when
    the read fails, and the read is made again on a new pool instead of answering 503."""
    from sqlalchemy import create_engine

    from blog.database import read_engine, read_value

    url = make_url(PG_URL).set(host="127.0.0.1", port=database_proxy.port)
    plain = url.render_as_string(hide_password=False)
    engine = read_engine(create_engine(plain), plain, {})
    try:
        held = [engine.raw_connection() for _ in range(2)]  # two pooled connections
        for connection in held:
            connection.close()
        assert read_value("SELECT 41 + 1", engine) == 42
        database_proxy.stop()
        database_proxy.start()
        assert read_value("SELECT 41 + 1", engine) == 42
        database_proxy.stop()
        with pytest.raises(OperationalError):  # while it is down, the error stands (a 503)
            read_value("SELECT 1", engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_write_lock_held_elsewhere_gives_503_to_posts_and_they_work_once_released(
    app: Flask, database: dict[str, Any], tmp_path: Path
) -> None:
    blog = seed(post_count=1)
    path = f"/blog/{blog.slugs[0]}/"
    database_file = make_url(sqlalchemy_url(database)).database
    assert database_file
    with gunicorn(tmp_path, sqlalchemy_url(database), SQLITE_BUSY_TIMEOUT_MS=300) as server:
        port = server.port
        before = [f"Before the lock {i}" for i in range(3)]
        for i, body in enumerate(before):
            assert send(port, "POST", f"{path}comments", comment_form(body, i)).status == 303

        blocker = sqlite3.connect(database_file, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            during = [f"Typed while <locked> {i}" for i in range(4)]
            for i, body in enumerate(during):
                reply = send(port, "POST", f"{path}comments", comment_form(body, i))
                assert_outage_page(reply, body)
                assert send(port, "GET", path).status == 200  # WAL: readers are not blocked
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

        after = [f"After the lock {i}" for i in range(4)]
        for i, body in enumerate(after):
            assert send(port, "POST", f"{path}comments", comment_form(body, i)).status == 303

    assert stored_bodies("Before the lock") == Counter(before)
    assert stored_bodies("Typed while") == Counter()
    assert stored_bodies("After the lock") == Counter(after)
