"""The mail outbox: notifications stored with the change that causes them, sent after it.

A notification is a row of ``mail_outbox``, added in the same transaction as the comment or
the moderation decision it is about: it is committed with it or not at all, and no process
restart can lose it. After the commit this process's sender (one background thread) sends what
is due, so that the request never waits for the mail server; ``flask blog send-mail`` (cron,
every minute) sends whatever is still due, e.g. after the mail server was down.

A sender first claims the rows it will send (``claimed_until`` a lease in the future), in a
transaction of its own: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock of
``BEGIN IMMEDIATE`` on SQLite, so that two workers or hosts never claim the same row. A row is
marked sent as soon as the server took it. A worker that dies mid-send leaves its rows claimed;
when the lease runs out they are due again. A failure is retried with exponential backoff (1,
2, 4 ... minutes, at most 6 hours) up to ``MAIL_MAX_ATTEMPTS`` tries; a refused recipient is not
retried. ``flask blog purge`` deletes rows sent (or given up) more than ``--mail-days`` ago.
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.orm import Session

from blog.database import begin_write
from blog.extensions import db
from blog.mail.transport import MailServer, connect, mail_server
from blog.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than sending a batch can take (timeouts of 10 s)
BATCH = 50
MAX_BACKOFF = timedelta(hours=6)
DEFAULT_MAX_ATTEMPTS = 10
# RFC 5322's line limit: headers are folded only past it, so that List-Unsubscribe (a long URL
# without spaces) stays a plain header; the default policy would RFC 2047-encode it.
POLICY = SMTP.clone(max_line_length=998)
_QUEUED = "blog_mail_queued"


@dataclass(frozen=True)
class Mail:
    """A notification to store: one recipient, a subject, a plain-text body, other headers."""

    to: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claimed:
    id: int
    recipient: str
    subject: str
    body: str
    headers: dict[str, str]
    attempts: int  # counting this one


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    given_up: int = 0


def queue(mails: Iterable[Mail], sender: str) -> int:
    """Add mails to the outbox in the caller's transaction (no commit); the commit starts the
    sender of this process. Returns how many were queued."""
    rows = [
        OutboxMessage(
            recipient=mail.to,
            subject=mail.subject,
            body=mail.body,
            headers={
                "From": sender,
                "Date": formatdate(usegmt=True),  # when it was written, whenever it goes out
                "Message-ID": make_msgid(),
                **mail.headers,
            },
            attempts=0,
            next_attempt_at=utcnow(),
            last_error="",
        )
        for mail in mails
    ]
    if rows:
        db.session.add_all(rows)
        db.session.flush()
        db.session.info[_QUEUED] = True
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4 ... minutes, capped."""
    return min(timedelta(minutes=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _due(now: datetime) -> Any:
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def claim(now: datetime | None = None, limit: int = BATCH) -> list[Claimed]:
    """Claim up to ``limit`` due messages for this sender until ``now + LEASE``, and commit."""
    now = now or utcnow()
    begin_write()
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(*_due(now))
            .order_by(OutboxMessage.attempts, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), *_due(now))
        .values(attempts=OutboxMessage.attempts + 1, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    ).scalars()
    claimed = [
        Claimed(r.id, r.recipient, r.subject, r.body, dict(r.headers), r.attempts) for r in rows
    ]
    db.session.commit()
    return claimed


def message_of(mail: Claimed) -> EmailMessage:
    """The email as it goes out; its Message-ID is the same on every try."""
    message = EmailMessage(policy=POLICY)
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.body)
    return message


def send_due(server: MailServer, now: datetime | None = None, max_attempts: int = 0) -> Outcome:
    """Send every message due at ``now`` (default: the clock), in batches, each claimed first;
    never raises for a mail server's failure (the messages are retried later)."""
    run = _Run(server, max_attempts or DEFAULT_MAX_ATTEMPTS, now)
    while batch := claim(now):
        run.send(batch)
        if len(batch) < BATCH:
            break
    return run.outcome


@dataclass
class _Run:
    server: MailServer
    max_attempts: int
    now: datetime | None  # None: the clock; a time: as if it were then (tests, simulations)
    outcome: Outcome = field(default_factory=Outcome)

    def send(self, batch: Sequence[Claimed]) -> None:
        """Over one connection; each message is marked as soon as the server answered it."""
        left = list(batch)
        try:
            with connect(self.server) as smtp:
                while left:
                    try:
                        smtp.send_message(message_of(left[0]))
                    except smtplib.SMTPRecipientsRefused as refused:
                        self.failed(left[0], f"refused: {refused.recipients}", permanent=True)
                    else:
                        self.sent(left[0])
                    left.pop(0)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("could not send %d notification(s): %s", len(left), error)
            for mail in left:
                self.failed(mail, str(error) or type(error).__name__)

    def sent(self, mail: Claimed) -> None:
        _finish(mail.id, sent_at=self.now or utcnow(), claimed_until=None, last_error="")
        self.outcome.sent += 1

    def failed(self, mail: Claimed, error: str, permanent: bool = False) -> None:
        now = self.now or utcnow()
        if permanent or mail.attempts >= self.max_attempts:
            log.warning("gave up mail %d to %s: %s", mail.id, mail.recipient, error)
            _finish(mail.id, failed_at=now, claimed_until=None, last_error=error[:500])
            self.outcome.given_up += 1
            return
        retry_at = now + backoff(mail.attempts)
        _finish(mail.id, next_attempt_at=retry_at, claimed_until=None, last_error=error[:500])
        self.outcome.retried += 1


def _finish(message_id: int, **values: Any) -> None:
    begin_write()
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def purge_done(days: int, now: datetime | None = None) -> int:
    """Delete messages sent or given up more than ``days`` ago, and commit; how many."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    begin_write()
    result = db.session.execute(
        delete(OutboxMessage)
        .where(or_(OutboxMessage.sent_at < cutoff, OutboxMessage.failed_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def waiting() -> int:
    """How many messages are neither sent nor given up."""
    found = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
        )
    )
    return int(found or 0)


# --- The sender of this process -------------------------------------------------------------

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_pending: set[Future[None]] = set()
_waiting: set[int] = set()  # the apps (by id) with a run waiting to start: no second one


def send_soon(app: Flask) -> None:
    """Have this process's background thread send what is due (after a commit that queued
    mail). At most one run waits at a time; it sends everything committed before it starts."""
    global _executor, _executor_pid
    with _lock:
        if _executor is None or _executor_pid != os.getpid():  # none yet, or forked
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blog-mail")
            _executor_pid = os.getpid()
            _pending.clear()
            _waiting.clear()
        if id(app) in _waiting:
            return
        _waiting.add(id(app))
        future = _executor.submit(_run, app)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def _run(app: Flask) -> None:
    with _lock:
        _waiting.discard(id(app))
    with app.app_context():
        server = mail_server(app.config)
        if server is None:
            return
        try:
            send_due(server, max_attempts=int(app.config.get("MAIL_MAX_ATTEMPTS") or 0))
        except Exception:  # the database went away: cron's send-mail will find the rows
            log.exception("the mail sender stopped")
        finally:
            db.session.remove()


def wait_for_mail(timeout: float = 30) -> None:
    """Block until the background sender has nothing left to do (tests, command-line tools)."""
    while True:
        with _lock:
            pending = list(_pending)
        if not pending:
            return
        done, _ = wait(pending, timeout=timeout)
        if not done:
            return


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed
        return
    if session.info.pop(_QUEUED, False) and current_app.config.get("MAIL_SEND_AFTER_COMMIT"):
        send_soon(current_app._get_current_object())  # type: ignore[attr-defined]


def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def init_app(_app: Flask) -> None:
    """Start the sender after every commit that queued mail."""
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
