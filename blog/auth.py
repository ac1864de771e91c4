"""Sign-in and sign-out (blueprint) and the Flask-Login wiring."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blog import users
from blog.extensions import login_manager

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no scheme, no host, no '//' or '\\')."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    next_url = safe_next(request.args.get("next") or request.form.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("public.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            session.clear()  # a fresh session on sign-in
            login_user(user)
            return redirect(next_url or url_for("public.home"))
        error = "Invalid username or password."
    elif request.method == "POST":
        error = "Invalid username or password."
    status = 400 if error else 200
    return render_template("login.html", form=form, error=error, next_url=next_url), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    users.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    return redirect(url_for("public.home"))


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.session_protection = "basic"
    login_manager.user_loader(users.load_session_user)
    app.register_blueprint(bp)
