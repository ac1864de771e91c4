"""Sign-in and sign-out (blueprint) and the Flask-Login wiring.

Failed sign-ins are rate limited per client address with Flask-Limiter (memory storage, or Redis
when ``BLOG_REDIS_URL`` is set, so that every worker shares the count). Only refused credentials
count; the limit is ``LOGIN_RATE_LIMIT`` (default five a minute and twenty an hour).
"""

from __future__ import annotations

import math
import time
from importlib.util import find_spec
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blog import request_log, users
from blog.extensions import limiter, login_manager
from blog.models import User

bp = Blueprint("auth", __name__)

DEFAULT_LOGIN_RATE_LIMIT = "5 per minute;20 per hour"
INVALID = "Invalid username or password."
EXPIRED = "Your session expired. Please sign in again."
EXPIRED_OUT = "Your session expired. Press the button again to sign out."


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField("Remember me")


def csrf_failed(form: FlaskForm) -> bool:
    """Whether the form was refused for its CSRF token (missing, stale or forged)."""
    token = getattr(form, "csrf_token", None)
    return bool(token is not None and token.errors)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no scheme, no host, no '//' or '\\')."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _login_rate_limit() -> str:
    return str(current_app.config.get("LOGIN_RATE_LIMIT") or DEFAULT_LOGIN_RATE_LIMIT)


def _sign_in_failed(_response: Response) -> bool:
    return bool(g.get("blog_login_failed"))


def _next_url() -> str | None:
    return safe_next(request.args.get("next") or request.form.get("next"))


def _login_page(form: LoginForm, error: str | None, status: int) -> Response:
    page = render_template("login.html", form=form, error=error, next_url=_next_url())
    response = make_response(page, status)
    response.cache_control.no_store = True
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_sign_in_failed)
def login() -> Response:
    next_url = _next_url()
    if current_user.is_authenticated:
        return redirect(next_url or url_for("admin.dashboard"), 303)
    form = LoginForm()
    if request.method != "POST":
        return _login_page(form, None, 200)
    if not form.validate_on_submit():
        error = EXPIRED if csrf_failed(form) else INVALID
        return _login_page(form, error, 400)
    user = users.authenticate(form.username.data or "", form.password.data or "")
    if user is None:
        g.blog_login_failed = True
        return _login_page(form, INVALID, 400)
    session.clear()  # a fresh session: nothing from before the sign-in carries over
    login_user(user, remember=bool(form.remember.data))
    return redirect(next_url or url_for("admin.dashboard"), 303)


@bp.errorhandler(CSRFError)
def _expired(_error: CSRFError) -> Response:
    """A missing or stale CSRF token: the form again, the username kept."""
    if request.endpoint == "auth.logout":
        page = render_template("login.html", confirm_logout=True, form=None, error=EXPIRED_OUT)
        return make_response(page, 400)
    return _login_page(LoginForm(), EXPIRED, 400)


@bp.errorhandler(RateLimitExceeded)
def _too_many(_error: RateLimitExceeded) -> Response:
    reset_at = limiter.current_limit.reset_at if limiter.current_limit else time.time() + 60
    minutes = max(1, math.ceil((reset_at - time.time()) / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    message = f"Too many failed sign-in attempts. Please wait {wait} and try again."
    return _login_page(LoginForm(), message, 429)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    """POST signs out everywhere (every session of this user ends); GET only asks."""
    if not current_user.is_authenticated:
        return redirect(url_for("public.home"), 303)
    if request.method != "POST":
        page = render_template("login.html", confirm_logout=True, form=None, error=None)
        return make_response(page, 200)
    users.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    return redirect(url_for("public.home"), 303)


def _limit_store_down(error: Exception) -> Response:
    """The rate-limit store (Redis) is unreachable: refuse to check passwords unthrottled, and
    say so plainly, rather than fail with a 500."""
    request_log.log.warning(
        "503: the rate-limit store failed, id=%s", request_log.current_request_id(), exc_info=error
    )
    message = "Signing in is briefly unavailable. Please try again in a moment."
    response = _login_page(LoginForm(), message, 503)
    response.headers["Retry-After"] = "30"
    return response


bp.register_error_handler(StorageError, _limit_store_down)
if find_spec("redis") is not None:  # Redis support is optional (the production extra)
    from redis.exceptions import RedisError

    bp.register_error_handler(RedisError, _limit_store_down)


def sign_in_again(user: User) -> None:
    """After the user's own password change: this browser gets a fresh session with the new
    session id, every other session of theirs has ended."""
    session.clear()
    login_user(user)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.session_protection = "basic"
    login_manager.user_loader(users.load_session_user)
    app.register_blueprint(bp)
