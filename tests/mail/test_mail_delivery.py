"""Mail for real: STARTTLS, implicit TLS and a login against aiosmtpd on loopback with a
certificate of a CA made for the test; the outbox that loses nothing (a wrong password, a
worker that dies mid-send, several senders at once); RFC 8058 headers as they go on the wire."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from flask import Flask
from sqlalchemy import select, update

from bench.load import free_port
from blog import create_app
from blog.extensions import db
from blog.mail import outbox
from blog.mail.outbox import Mail
from blog.mail.transport import mail_server
from blog.models import Comment, CommentStatus, OutboxMessage, Role, utcnow
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, post_comment, reader
from tests.conftest import login
from tests.smtp import PASSWORD, USER, RawInbox, plain_server, secure_server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "mail-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[tuple[RawInbox, int]]:
    """STARTTLS and a login (LOGIN or PLAIN) required before any mail is taken."""
    handler = RawInbox()
    with secure_server(handler, ca) as port:
        yield handler, port


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[tuple[RawInbox, int]]:
    """Implicit TLS (as on port 465): TLS from the first byte, then a login."""
    handler = RawInbox()
    with secure_server(handler, ca, implicit_tls=True) as port:
        yield handler, port


def mail_config(port: int, ca_file: str, **extra: Any) -> dict[str, Any]:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_FROM": "blog@blog.example",
        "MAIL_SECURITY": "starttls",
        "MAIL_USERNAME": USER,
        "MAIL_PASSWORD": PASSWORD,
        "MAIL_CA_FILE": ca_file,
        "SITE_URL": "https://blog.example",
        **extra,
    }


def held_comment(app: Flask, body: str = "Held for a moderator") -> int:
    """A comment held for the one moderator with an address (the post's author has none)."""
    factories.make_user(Role.MODERATOR, email="mod@blog.example")
    post = factories.make_post(author=factories.make_user(Role.AUTHOR, email=""))
    return comment_id(post_comment(reader(app), post, body=body))


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def send_mail(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["blog", "send-mail"])
    assert result.exit_code == 0, result.output
    return result.output


def test_mail_goes_out_over_starttls_after_a_login(
    make_app: Callable[..., Flask], starttls_server: tuple[RawInbox, int], ca_file: str
) -> None:
    inbox, port = starttls_server
    app = make_app(**mail_config(port, ca_file))
    with app.app_context():
        held_comment(app, "Over STARTTLS")
        received = inbox.to("mod@blog.example")
        assert len(received) == 1 and "Over STARTTLS" in received[0].get_content()
        assert inbox.logins == [USER]
        [row] = outbox_rows()
        assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_mail_goes_out_over_implicit_tls(
    make_app: Callable[..., Flask], tls_server: tuple[RawInbox, int], ca_file: str
) -> None:
    inbox, port = tls_server
    app = make_app(**mail_config(port, ca_file, MAIL_SECURITY="tls"))
    with app.app_context():
        held_comment(app, "Over TLS")
        received = inbox.to("mod@blog.example")
        assert len(received) == 1 and "Over TLS" in received[0].get_content()
        assert inbox.logins == [USER]


def test_an_untrusted_certificate_is_refused_and_the_mail_kept(
    make_app: Callable[..., Flask], starttls_server: tuple[RawInbox, int]
) -> None:
    inbox, port = starttls_server
    app = make_app(**mail_config(port, ""))  # the system's CAs only: the test CA is unknown
    with app.app_context():
        held_comment(app)
        outbox.wait_for_mail(timeout=10)
        assert inbox.settled() == []
        [row] = outbox_rows()
        assert row.sent_at is None and "certificate verify failed" in row.last_error


def test_a_wrong_password_is_retried_later_and_the_comment_kept(
    make_app: Callable[..., Flask], starttls_server: tuple[RawInbox, int], ca_file: str
) -> None:
    inbox, port = starttls_server
    wrong = make_app(**mail_config(port, ca_file, MAIL_PASSWORD="wrong"))
    with wrong.app_context():
        new_id = held_comment(wrong, "Kept despite the password")
        outbox.wait_for_mail(timeout=10)
        assert inbox.settled() == []
        stored = db.session.get(Comment, new_id)
        assert stored is not None and stored.status == CommentStatus.PENDING
        [row] = outbox_rows()
        assert row.sent_at is None and row.failed_at is None and row.attempts == 1
        assert "535" in row.last_error  # authentication failed
        assert row.next_attempt_at > utcnow() + timedelta(seconds=50)  # a minute's backoff
        assert "sent 0" in send_mail(wrong)  # not due yet: nothing is tried

    right = make_app(**mail_config(port, ca_file))
    with right.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert "sent 1" in send_mail(right)
        assert len(inbox.to("mod@blog.example")) == 1
        assert "sent 0" in send_mail(right)
        [row] = outbox_rows()
        assert row.attempts == 2 and row.sent_at is not None and row.last_error == ""


def test_a_sender_that_dies_mid_send_leaves_the_mail_to_be_sent_once(
    make_app: Callable[..., Flask], starttls_server: tuple[RawInbox, int], ca_file: str
) -> None:
    inbox, port = starttls_server
    app = make_app(**mail_config(port, ca_file, MAIL_SEND_AFTER_COMMIT=False))  # cron only
    with app.app_context():
        held_comment(app, "Claimed, then the worker died")
        [queued] = outbox_rows()
        assert queued.sent_at is None and queued.attempts == 0
        assert [m.id for m in outbox.claim()] == [queued.id]  # ...and it never finishes
        assert "sent 0" in send_mail(app)  # another sender leaves it alone while claimed
        assert inbox.settled() == []

        server = mail_server(app.config)
        assert server is not None
        done = outbox.send_due(server, now=utcnow() + outbox.LEASE + timedelta(seconds=1))
        assert done.sent == 1  # the claim ran out: sent by the next sender
        assert "sent 0" in send_mail(app)
        received = inbox.to("mod@blog.example")
        assert len(received) == 1 and "Claimed, then" in received[0].get_content()


def test_senders_running_at_once_never_claim_the_same_mail(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_SEND_AFTER_COMMIT=False)
    with app.app_context():
        outbox.queue([Mail(f"r{n}@example.org", "s", "b") for n in range(60)], "b@example.org")
        db.session.commit()
    claimed: list[list[int]] = []
    start = threading.Barrier(3)

    def sender() -> None:
        with app.app_context():
            start.wait()
            while batch := outbox.claim(limit=7):
                claimed.append([m.id for m in batch])
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == 60 and len(set(ids)) == 60


def test_list_unsubscribe_is_a_plain_header_on_the_wire(
    make_app: Callable[..., Flask], starttls_server: tuple[RawInbox, int], ca_file: str
) -> None:
    inbox, port = starttls_server
    app = make_app(**mail_config(port, ca_file))
    address = "a.subscriber.with.a.rather.long.address." + "x" * 40 + "@example.org"
    with app.app_context():
        save_settings({"moderation_notify": False, "comments_notify": False})
        post = factories.make_post()
        parent = factories.make_comment(post, author_email=address, body="Question?")
        parent.notify_replies = True
        reply = factories.make_comment(post, parent=parent, status=CommentStatus.PENDING)
        moderator = login(app.test_client(), factories.make_user(Role.MODERATOR))
        assert moderator.post(f"/admin/comments/{reply.id}/approve").status_code == 303
        assert len(inbox.to(address)) == 1
    raw = inbox.raw[0]
    header = re.search(rb"\r\nList-Unsubscribe: (.*?)\r\n(?![ \t])", raw, re.S)
    assert header is not None
    value = header.group(1)
    assert re.fullmatch(rb"<https://blog\.example/comments/unsubscribe/[\w.-]+>", value), value
    assert len(value) > 78  # long enough that the default policy would have encoded it
    assert b"=?" not in raw.split(b"\r\n\r\n")[0]
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_purge_deletes_mail_sent_days_ago_and_keeps_the_rest(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_SEND_AFTER_COMMIT=False)
    with app.app_context():
        outbox.queue([Mail(f"r{n}@example.org", "s", "b") for n in range(3)], "b@example.org")
        db.session.commit()
        old, recent, waiting = outbox_rows()
        old.sent_at = utcnow() - timedelta(days=8)
        recent.sent_at = utcnow() - timedelta(days=6)
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["blog", "purge"])
        assert "deleted 1 mail(s) sent or given up more than 7 days ago" in result.output
        assert [r.id for r in outbox_rows()] == [recent.id, waiting.id]


def test_send_mail_without_a_mail_server_says_so(make_app: Callable[..., Flask]) -> None:
    result = make_app().test_cli_runner().invoke(args=["blog", "send-mail"])
    assert result.exit_code == 1 and "no mail server is configured" in result.output


@pytest.mark.parametrize(
    ("environ", "security"),
    [
        ({"BLOG_MAIL_PORT": "25"}, "none"),
        ({"BLOG_MAIL_PORT": "587"}, "starttls"),
        ({"BLOG_MAIL_PORT": "465"}, "tls"),
        ({"BLOG_MAIL_PORT": "2525", "BLOG_MAIL_SECURITY": "STARTTLS"}, "starttls"),
        ({"BLOG_MAIL_PORT": "465", "BLOG_MAIL_SECURITY": "none"}, "none"),
    ],
)
def test_mail_security_comes_from_the_environment_or_the_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environ: dict[str, str], security: str
) -> None:
    for name, value in {"BLOG_MAIL_SERVER": "smtp.example", **environ}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    server = mail_server(app.config)
    assert server is not None and server.security == security


def test_mail_login_comes_from_the_environment_and_needs_tls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BLOG_MAIL_SERVER", "smtp.example")
    monkeypatch.setenv("BLOG_MAIL_PORT", "587")
    monkeypatch.setenv("BLOG_MAIL_USERNAME", "sender")
    monkeypatch.setenv("BLOG_MAIL_PASSWORD", "pw")
    server = mail_server(create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path)).config)
    assert server is not None and (server.username, server.password) == ("sender", "pw")
    assert "pw" not in repr(server)
    monkeypatch.setenv("BLOG_MAIL_SECURITY", "none")
    with pytest.raises(ValueError, match="never sent in the clear"):
        create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    monkeypatch.setenv("BLOG_MAIL_SECURITY", "ssl")
    with pytest.raises(ValueError, match="must be one of starttls, tls, none"):
        create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))


def test_the_sender_starts_only_once_the_mail_is_committed(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    seen: list[int] = []

    def count_committed(_app: Flask) -> None:  # what another connection can see by now
        with db.engine.connect() as other:
            seen.append(len(other.execute(select(OutboxMessage.id)).all()))

    monkeypatch.setattr(outbox, "send_soon", count_committed)
    with app.app_context():
        held_comment(app)
    assert seen == [1]


def test_mail_queued_in_a_transaction_that_rolls_back_is_never_sent(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1")
    started: list[Flask] = []
    monkeypatch.setattr(outbox, "send_soon", started.append)
    with app.app_context():
        outbox.queue([Mail("a@example.org", "s", "b")], "blog@example.org")
        db.session.rollback()  # the change that caused it failed
        db.session.commit()
        assert outbox_rows() == [] and started == []
        outbox.queue([Mail("a@example.org", "s", "b")], "blog@example.org")
        db.session.commit()
        assert len(outbox_rows()) == 1 and len(started) == 1


def test_failures_back_off_then_give_up(make_app: Callable[..., Flask]) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_SEND_AFTER_COMMIT=False)
    with app.app_context():
        outbox.queue([Mail("a@example.org", "s", "b")], "blog@example.org")
        db.session.commit()
        server = mail_server(app.config)
        assert server is not None
        waits = []
        for _ in range(3):
            [row] = outbox_rows()
            now = row.next_attempt_at
            done = outbox.send_due(server, now=now, max_attempts=3)
            [row] = outbox_rows()
            waits.append(row.next_attempt_at - now if row.failed_at is None else done)
        assert waits[:2] == [timedelta(minutes=1), timedelta(minutes=2)]
        assert waits[2] == outbox.Outcome(given_up=1)
        assert row.failed_at is not None and row.attempts == 3 and row.last_error
        assert outbox.send_due(server, now=utcnow() + timedelta(days=1)) == outbox.Outcome()


class Refusing(RawInbox):
    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_is_given_up_at_once_and_the_others_sent(
    make_app: Callable[..., Flask],
) -> None:
    handler = Refusing()
    with plain_server(handler) as port:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SEND_AFTER_COMMIT=False)
        with app.app_context():
            mails = [Mail(f"{name}@example.org", "s", "b") for name in ("gone", "here")]
            outbox.queue(mails, "blog@example.org")
            db.session.commit()
            assert "sent 1, to retry later 0, given up 1; 0 waiting" in send_mail(app)
            gone, here = outbox_rows()
            assert gone.failed_at is not None and "No such mailbox" in gone.last_error
            assert here.sent_at is not None
            assert len(handler.to("here@example.org")) == 1
