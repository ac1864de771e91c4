"""Extension objects, created unbound and initialised in :func:`blog.create_app`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class AppLimiter(Limiter):
    """Flask-Limiter, with its storage state set afresh for each app it serves.

    One limiter object serves every app built in a process (the tests build many): a storage an
    earlier app found dead (counts then fall back to memory) must not carry over to the next app,
    nor must an earlier app's fallback, error and storage settings.
    """

    def init_app(self, app: Flask) -> None:
        self._storage_dead = False
        self._swallow_errors = None
        self._storage_options = {}
        self._in_memory_fallback_enabled = bool(
            app.config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", False)
        )
        super().init_app(app)


limiter = AppLimiter(key_func=get_remote_address, default_limits=[])

View = TypeVar("View", bound=Callable[..., Any])


def csrf_exempt(view: View) -> View:
    """``csrf.exempt`` for a view function, typed (Flask-WTF ships no types)."""
    csrf.exempt(view)
    return view


def seconds_until_retry() -> int:
    """For ``Retry-After`` after a rate limit refused the request: when the window resets."""
    current = limiter.current_limit
    reset_at = current.reset_at if current is not None else time.time() + 60
    return max(1, math.ceil(reset_at - time.time()))
