"""Every error under ``/api/`` is ``{"error": {"code", "message", "fields"}}`` with its status.

Views raise :class:`ApiError` (or let a domain exception through, which the handlers here turn
into the same shape); blog.web.errors sends routing errors (404, 405), 413, 500 and the database's
503 here too, so no HTML error page is ever served under ``/api/``.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, jsonify
from flask_limiter import RateLimitExceeded

from blog.comments.moderation import ModerationError
from blog.comments.submit import CommentRejected
from blog.extensions import seconds_until_retry
from blog.permissions import NotAllowed
from blog.posts.authoring import PostRejected

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid API token: Authorization: Bearer <token>.",
    403: "Your account may not do that.",
    404: "Nothing lives at this address.",
    405: "This address does not take that method.",
    409: "That conflicts with the current state.",
    413: "The request body is larger than this site accepts.",
    415: "Send a JSON object with Content-Type: application/json.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side.",
    503: "The site is busy or under maintenance. Try again shortly.",
}
# The error codes of a rejected comment, by status: more precise than the status alone.
COMMENT_CODES = {
    400: "invalid_comment",
    403: "comments_closed",
    404: "not_found",
    409: "duplicate_comment",
    429: "comment_flood",
}


class ApiError(Exception):
    """An error answer: status, message for people, messages per field, headers."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        fields: Mapping[str, str] | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message or MESSAGES.get(status, "The request failed.")
        self.fields = dict(fields or {})
        self.code = code or CODES.get(status, "error")
        self.headers = dict(headers or {})
        super().__init__(self.message)


def error_response(error: ApiError) -> Response:
    body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    response.cache_control.no_store = True
    return response


def json_error(status: int, message: str | None = None) -> tuple[Response, int]:
    """For blog.web.errors: the JSON answer to an HTTP error raised outside the API's views."""
    return error_response(ApiError(status, message)), status


def _api_error(error: ApiError) -> Response:
    return error_response(error)


def _comment_rejected(rejected: CommentRejected) -> Response:
    headers = {}
    if rejected.retry_after is not None:
        headers["Retry-After"] = str(rejected.retry_after)
    code = COMMENT_CODES.get(rejected.status_code)
    error = ApiError(rejected.status_code, rejected.message, rejected.fields, code, headers)
    return error_response(error)


def _moderation_error(error: ModerationError) -> Response:
    return error_response(ApiError(error.status_code, error.message))


def _post_rejected(rejected: PostRejected) -> Response:
    # Without fields it is the post that went away meanwhile (blog.posts.authoring._require_post).
    status = 400 if rejected.fields else 404
    return error_response(ApiError(status, rejected.message, rejected.fields))


def _not_allowed(error: NotAllowed) -> Response:
    return error_response(ApiError(403, error.message))


def _rate_limited(_error: RateLimitExceeded) -> Response:
    wait = seconds_until_retry()
    message = f"Too many comments from your address. Try again in {wait} seconds."
    return error_response(ApiError(429, message, headers={"Retry-After": str(wait)}))


def register(bp: Blueprint) -> None:
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(CommentRejected, _comment_rejected)
    bp.register_error_handler(ModerationError, _moderation_error)
    bp.register_error_handler(PostRejected, _post_rejected)
    bp.register_error_handler(NotAllowed, _not_allowed)
    bp.register_error_handler(RateLimitExceeded, _rate_limited)
