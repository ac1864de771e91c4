"""``flask blog ...``: the command line of SPEC section 9."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from blog.models import Role

blog_cli = AppGroup("blog", help="Manage the blog: demo content, users, counts, settings.")


@blog_cli.command("demo")
def demo_command() -> None:
    """Load the demo content (the reference post and a few more). Safe to run twice."""
    from blog.demo import load_demo

    created = load_demo()
    if created:
        for item in created:
            click.echo(f"created {item}")
    else:
        click.echo("demo content already present; nothing changed")


@blog_cli.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.AUTHOR.value,
    show_default=True,
)
@click.option("--display-name", default=None, help="Name shown on posts (default: username).")
@click.option("--email", default="", help="Email address for notifications.")
def create_user_command(username: str, role: str, display_name: str | None, email: str) -> None:
    """Create a user. The password is prompted for, or read from standard input."""
    from blog.users import UserError, create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(username, password, Role(role), display_name, email)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role.value} {user.username}")


@blog_cli.command("recount")
def recount_command() -> None:
    """Verify every post's comment count and repair the ones that drifted."""
    from blog.counts import recount_comments

    fixed = recount_comments()
    for drift in fixed:
        click.echo(f"fixed {drift.slug}: stored {drift.stored}, actual {drift.actual}")
    click.echo(f"{len(fixed)} post(s) repaired" if fixed else "all comment counts are exact")


def init_app(app: Flask) -> None:
    app.cli.add_command(blog_cli)
