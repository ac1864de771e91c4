"""Sign-in and sign-out (blueprint) and the Flask-Login wiring.

Failed sign-ins are limited per client address, counted in the database so that every worker
and host shares the count (:mod:`blog.accounts.sign_in`). Only refused credentials count; the
limit is ``LOGIN_RATE_LIMIT`` (default five a minute and twenty an hour), off when
``RATELIMIT_ENABLED`` is false.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blog.accounts import password_reset, users
from blog.accounts import sign_in as sign_in_limits
from blog.extensions import login_manager
from blog.models import User

bp = Blueprint("auth", __name__)

INVALID = "Invalid username or password."
EXPIRED = "Your session expired. Please sign in again."
EXPIRED_OUT = "Your session expired. Press the button again to sign out."
SENT = (
    "If an account with that username or email address exists, we sent a link to set a new "
    "password to its email address. The link works for an hour."
)
PASSWORD_SET = "Your new password is set. Sign in with it."


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField("Remember me")


class ForgotPasswordForm(FlaskForm):
    name = StringField("Username or email address", validators=[DataRequired(), Length(max=320)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)]
    )
    confirm = PasswordField(
        "New password again", validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)]
    )


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


def _login_rule(configured: object) -> str:
    return str(configured or sign_in_limits.DEFAULT_RULE)


def _authenticate(form: LoginForm) -> User | None:
    """The user the form's credentials name, or None; raises TooManyAttempts when this
    address has used up its failed sign-ins (the credentials are then not checked)."""
    username, password = form.username.data or "", form.password.data or ""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return users.authenticate(username, password)
    rule = _login_rule(current_app.config.get("LOGIN_RATE_LIMIT"))
    attempt = sign_in_limits.begin_attempt(request.remote_addr or "", rule)
    user = users.authenticate(username, password)
    if user is not None:
        sign_in_limits.attempt_succeeded(attempt)
    return user


def _next_url() -> str | None:
    return safe_next(request.args.get("next") or request.form.get("next"))


def _login_page(form: LoginForm, error: str | None, status: int) -> Response:
    page = render_template(
        "login.html",
        form=form,
        error=error,
        next_url=_next_url(),
        can_reset=password_reset.available(),
    )
    response = make_response(page, status)
    response.cache_control.no_store = True
    return response


@bp.route("/login", methods=["GET", "POST"])
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
    try:
        user = _authenticate(form)
    except sign_in_limits.TooManyAttempts as refused:
        return _too_many(form, refused.retry_after)
    if user is None:
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
    if request.endpoint == "auth.forgot_password":
        return _forgot_page(ForgotPasswordForm(), EXPIRED, 400)
    if request.endpoint == "auth.reset_password":
        return _reset_page(ResetPasswordForm(), EXPIRED, 400)
    return _login_page(LoginForm(), EXPIRED, 400)


def _wait(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _too_many(form: LoginForm, retry_after: int) -> Response:
    message = f"Too many failed sign-in attempts. Please wait {_wait(retry_after)} and try again."
    response = _login_page(form, message, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


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


def _private(page: str, status: int) -> Response:
    """A page of the password reset: never cached, and its address (a token) never sent on."""
    response = make_response(page, status)
    response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _forgot_page(
    form: ForgotPasswordForm, error: str | None, status: int, sent: bool = False
) -> Response:
    notice = SENT if sent else None
    page = render_template("forgot_password.html", form=form, error=error, sent=notice)
    return _private(page, status)


def _reset_rule() -> str | None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    return _login_rule(current_app.config.get("LOGIN_RATE_LIMIT"))


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot_password() -> Response:
    """Ask for a link to set a new password. The answer is the same whether or not the
    account exists (blog.accounts.password_reset); only a mail server makes it available.
    Somebody signed in changes their password on their profile instead."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.profile"), 303)
    if not password_reset.available():
        abort(404)
    form = ForgotPasswordForm()
    if request.method != "POST":
        return _forgot_page(form, None, 200)
    if not form.validate_on_submit():
        error = EXPIRED if csrf_failed(form) else "Enter your username or email address."
        return _forgot_page(form, error, 400)
    try:
        password_reset.request_reset(form.name.data or "", request.remote_addr or "", _reset_rule())
    except sign_in_limits.TooManyAttempts as refused:
        message = f"Too many requests. Please wait {_wait(refused.retry_after)} and try again."
        response = _forgot_page(form, message, 429)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    return _forgot_page(ForgotPasswordForm(formdata=None), None, 200, sent=True)


def _reset_page(form: ResetPasswordForm | None, error: str | None, status: int) -> Response:
    token = (request.view_args or {}).get("token", "")
    page = render_template("reset_password.html", form=form, error=error, token=token)
    return _private(page, status)


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    """The mailed link: choose a new password, once, within the hour."""
    try:
        password_reset.user_for_token(token)
    except password_reset.ResetLinkInvalid as invalid:
        return _reset_page(None, invalid.message, 404)
    form = ResetPasswordForm()
    if request.method != "POST":
        return _reset_page(form, None, 200)
    if not form.validate_on_submit():
        error = EXPIRED if csrf_failed(form) else "Enter the new password twice."
        return _reset_page(form, error, 400)
    try:
        password_reset.reset_password(token, form.password.data or "", form.confirm.data or "")
    except password_reset.ResetLinkInvalid as invalid:
        return _reset_page(None, invalid.message, 404)
    except users.UserError as refused:
        return _reset_page(form, refused.message, 400)
    logout_user()  # whoever was signed in here, the account's sessions have ended
    session.clear()
    flash(PASSWORD_SET, "success")
    return redirect(url_for("auth.login"), 303)


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
    # A limit that cannot be read stops the start, not the first sign-in (a 500).
    sign_in_limits.parse_rule(_login_rule(app.config.get("LOGIN_RATE_LIMIT")))
    app.register_blueprint(bp)
