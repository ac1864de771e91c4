"""Reading what a client sent: the JSON body, typed fields, query parameters, pages.

Everything wrong with the input becomes an :class:`ApiError` 400 (415 for a body that is not
JSON, 413 from werkzeug for one that is too large) with a message per field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import request

from blog.api.errors import ApiError

MAX_PER_PAGE = 100
MAX_QUERY_TEXT = 200
MAX_PAGE_DIGITS = 9
# Control characters (tab and newline kept in bodies by the domain), lone surrogates: never
# part of a name or slug someone typed, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def json_object() -> dict[str, Any]:
    """The request body as a JSON object. Strict UTF-8, no lone surrogates."""
    if request.mimetype != "application/json":
        raise ApiError(415)
    raw = request.get_data(cache=True)  # werkzeug answers 413 past MAX_CONTENT_LENGTH
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not valid UTF-8.") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "The request body contains invalid Unicode (a lone surrogate)."
        ) from None
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Fields:
    """Typed access to a JSON object's members, collecting one message per bad field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def has(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            self.errors[name] = f"{name} must be a string."
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors[name] = f"{name} must be true or false."
            return default
        return value

    def identifier(self, name: str) -> int | None:
        """A positive integer id, or null."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
            self.errors[name] = f"{name} must be the number of an existing item, or null."
            return None
        return value

    def strings(self, name: str, limit: int = 100) -> list[str] | None:
        """A list of strings (None when absent or null)."""
        value = self.data.get(name)
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or len(value) > limit
            or not all(isinstance(item, str) for item in value)
        ):
            self.errors[name] = f"{name} must be a list of at most {limit} strings."
            return None
        return list(value)

    def moment(self, name: str) -> datetime | None:
        """An ISO 8601 date and time; without an offset it is taken as UTC."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors[name] = f"{name} must be an ISO 8601 date and time, or null."
            return None
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            self.errors[name] = (
                f"{name} must be an ISO 8601 date and time such as 2025-03-01T09:30:00Z."
            )
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            self.errors[name] = f"{name} is out of range."
            return None

    def check(self) -> None:
        if self.errors:
            raise ApiError(400, "Please correct the fields listed.", self.errors)


def query_text(name: str, limit: int = MAX_QUERY_TEXT) -> str:
    """A query parameter as plain text: control characters dropped, spaces collapsed."""
    raw = request.args.get(name, "")
    return " ".join(_CONTROL.sub("", raw).split())[:limit]


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int


def paging(default_per_page: int) -> Paging:
    """``page`` (1, 2, 3...) and ``per_page`` (1 to 100); anything else is a 400."""
    errors: dict[str, str] = {}
    page = _positive("page", 1, errors)
    per_page = _positive("per_page", default_per_page, errors)
    if "per_page" not in errors and per_page > MAX_PER_PAGE:
        errors["per_page"] = f"per_page must be between 1 and {MAX_PER_PAGE}."
    if errors:
        raise ApiError(400, "Invalid page.", errors)
    return Paging(page, per_page)


def _positive(name: str, default: int, errors: dict[str, str]) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS and int(raw) > 0:
        return int(raw)
    errors[name] = f"{name} must be a whole number from 1."
    return default


def past_the_end(page: int) -> ApiError:
    return ApiError(400, f"There is no page {page}.", {"page": "page is past the last page."})
