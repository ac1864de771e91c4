"""The first run (issue 15): `make run` ends by saying where the blog is and how to sign in as
its first admin, whose one-time password is printed once and never again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from blog.accounts.users import authenticate
from blog.extensions import db
from blog.models import Role, User
from tests import factories
from tests.paths import ROOT

SIGN_IN = re.compile(r"Sign in at (\S+)/login as (\S+) with the password: (\S+)")


def _demo(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["blog", "demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _admins() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN)) or 0


def test_the_first_demo_run_makes_an_admin_whose_printed_password_signs_in(app: Flask) -> None:
    output = _demo(app, "--address", "http://127.0.0.1:5000/")
    assert "The blog: http://127.0.0.1:5000/" in output
    found = SIGN_IN.search(output)
    assert found is not None, output
    site, username, password = found.groups()
    assert (site, username) == ("http://127.0.0.1:5000", "admin")
    assert len(password) >= 16
    assert "shown only this once" in output
    assert f"blog set-password {username}" in output
    client = app.test_client()
    signed_in = client.post("/login", data={"username": username, "password": password})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/admin/"
    assert client.get("/admin/users/").status_code == 200  # an admin indeed
    # The demo authors cannot sign in, and are told how to get a password.
    assert authenticate("evans", "") is None and authenticate("lena", "!") is None
    assert "The demo authors (evans, lena) have no password" in output
    assert "flask blog set-password evans" in output


def test_running_it_again_prints_no_new_password_and_keeps_the_first(app: Flask) -> None:
    first = SIGN_IN.search(_demo(app))
    assert first is not None
    password = first.group(3)
    again = _demo(app)
    assert SIGN_IN.search(again) is None
    assert password not in again
    assert "Sign in at http://127.0.0.1:5000/login as admin" in again
    assert "flask blog set-password admin" in again
    assert _admins() == 1
    assert authenticate("admin", password) is not None


def test_an_existing_admin_is_named_and_none_is_made(app: Flask) -> None:
    factories.make_user(Role.ADMIN, username="boss")
    output = _demo(app, "--address", "https://blog.example/")
    assert SIGN_IN.search(output) is None
    assert "Sign in at https://blog.example/login as boss" in output
    assert _admins() == 1


def test_the_admin_name_is_not_taken_from_another_role(app: Flask) -> None:
    factories.make_user(Role.AUTHOR, username="admin")
    found = SIGN_IN.search(_demo(app))
    assert found is not None
    assert found.group(2) == "admin2"
    assert authenticate("admin2", found.group(3)) is not None


def test_the_address_defaults_to_the_site_url(make_app: Callable[..., Flask]) -> None:
    app = make_app(SITE_URL="https://news.example/journal")
    with app.app_context():
        output = _demo(app)
    assert "Sign in at https://news.example/journal/login as admin" in output


def test_demo_authors_get_a_password_with_set_password(app: Flask) -> None:
    _demo(app)
    result = app.test_cli_runner().invoke(
        args=["blog", "set-password", "evans"], input="evans new password\n"
    )
    assert result.exit_code == 0, result.output
    assert authenticate("evans", "evans new password") is not None
    assert "The demo authors (lena) have no password" in _demo(app)


def test_make_run_ends_with_the_sign_in_lines_for_the_address_it_serves() -> None:
    planned = subprocess.run(
        ["make", "-n", "run", "HOST=127.0.0.2", "PORT=5123"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    demo = [n for n, line in enumerate(planned) if " blog demo" in line]
    serve = [n for n, line in enumerate(planned) if " run --host" in line]
    assert demo and serve and demo[-1] == serve[-1] - 1, planned
    assert "--address http://127.0.0.2:5123/" in planned[demo[-1]]
    assert "--host 127.0.0.2 --port 5123" in planned[serve[-1]]


def test_the_real_command_prints_a_password_once_and_copyable_commands(tmp_path: Path) -> None:
    """`flask --app app blog demo` as `make run` starts it: on a new SQLite database."""
    flask = Path(sys.executable).with_name("flask")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BLOG_INSTANCE_PATH": str(tmp_path),
        "BLOG_TEST_DATABASE_URL": "none",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(flask), "--app", "app", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("db", "upgrade")
    first = run("blog", "demo", "--address", "http://127.0.0.1:5000/")
    found = SIGN_IN.search(first)
    assert found is not None, first
    assert f"{flask} --app app blog set-password admin" in first
    second = run("blog", "demo")
    assert found.group(3) not in second
    assert f"Forgot it? Set a new one with: {flask} --app app blog set-password admin" in second
