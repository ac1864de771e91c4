"""What every context's "not done" exception shares: a message for people and an HTTP status.

A domain function raises a subclass (CommentRejected, MediaRejected, ModerationError ...); the
view turns it into a page with the message, the API into JSON with the status.
"""

from __future__ import annotations


class Refused(Exception):
    """An action that was not done; ``message`` says why, for people; ``status_code`` for HTTP."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
