"""``flask blog ...``: the command line of SPEC section 9."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from blog.models import Role

if TYPE_CHECKING:
    from blog.porting.wxr_import import ImportReport

blog_cli = AppGroup("blog", help="Manage the blog: demo content, users, counts, settings.")


DEFAULT_ADDRESS = "http://127.0.0.1:5000/"


@blog_cli.command("demo")
@click.option(
    "--address",
    default=None,
    metavar="URL",
    help="Where the site is served, for the sign-in line "
    f"(default: BLOG_SITE_URL, else {DEFAULT_ADDRESS}).",
)
def demo_command(address: str | None) -> None:
    """Load the demo content (the reference post and a few more) and make the first admin, with
    a one-time password printed once, when there is no admin. Safe to run again: then it only
    says where to sign in."""
    from blog.accounts.first_run import first_admin, users_without_password
    from blog.porting.demo import DEMO_AUTHORS, load_demo

    created = load_demo()
    if created:
        for item in created:
            click.echo(f"created {item}")
    else:
        click.echo("demo content already present; nothing changed")
    admin = first_admin()
    waiting = users_without_password(list(DEMO_AUTHORS))
    if waiting:
        click.echo(
            f"The demo authors ({', '.join(waiting)}) have no password; give one with: "
            f"{_flask_command()} blog set-password {waiting[0]}"
        )
    site = (address or current_app.config.get("SITE_URL") or DEFAULT_ADDRESS).rstrip("/")
    _print_sign_in(site, admin.username, admin.password)


def _flask_command() -> str:
    """How this very ``flask`` was started (``.venv/bin/flask --app app``), to print commands
    that can be copied as they are."""
    program = sys.argv[0] if os.path.basename(sys.argv[0]) == "flask" else "flask"
    app = click.get_current_context().ensure_object(ScriptInfo).app_import_path
    return shlex.join([program, *(["--app", app] if app else [])])


def _print_sign_in(site: str, username: str, password: str | None) -> None:
    """The end of `flask blog demo` (and so of `make run`): the address, and how to sign in."""
    flask = _flask_command()
    click.echo("")
    click.echo(f"The blog: {site}/")
    if password is not None:
        click.echo(f"Sign in at {site}/login as {username} with the password: {password}")
        click.echo("It is shown only this once. Change it under Profile once signed in, or set")
        click.echo(f"another with: {flask} blog set-password {username}")
    else:
        click.echo(f"Sign in at {site}/login as {username} (its password was printed when it was")
        click.echo(f"made). Forgot it? Set a new one with: {flask} blog set-password {username}")


@blog_cli.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.AUTHOR.value,
    show_default=True,
    help="What the user may do (docs/admin.md has the role matrix).",
)
@click.option("--display-name", default=None, help="Name shown on posts (default: username).")
@click.option("--email", default="", help="Email address for notifications.")
def create_user_command(username: str, role: str, display_name: str | None, email: str) -> None:
    """Create a user. The password is prompted for, or read from standard input."""
    from blog.accounts.users import UserError, create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(username, password, Role(role), display_name, email)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role.value} {user.username}")


@blog_cli.command("set-password")
@click.argument("username")
def set_password_command(username: str) -> None:
    """Set USERNAME's password (prompted, or read from standard input); signs them out everywhere.

    Also how the demo authors, created without a password, get one.
    """
    from blog.accounts.users import UserError, find_user_by_name, set_password

    user = find_user_by_name(username)
    if user is None:
        raise click.ClickException(f"No user is called {username!r}.")
    if sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        set_password(user, password)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"password of {username} changed; their sessions have ended")


@blog_cli.command("recount")
def recount_command() -> None:
    """Verify every post's comment count and repair the ones that drifted."""
    from blog.comments.counts import recount_comments

    fixed = recount_comments()
    for drift in fixed:
        click.echo(f"fixed {drift.slug}: stored {drift.stored}, actual {drift.actual}")
    click.echo(f"{len(fixed)} post(s) repaired" if fixed else "all comment counts are exact")


@blog_cli.command("settings")
@click.option(
    "--set",
    "changes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Change a setting (repeatable), e.g. --set comment_max_links=3.",
)
def settings_command(changes: tuple[str, ...]) -> None:
    """Show every site and discussion setting, or change some with --set."""
    from dataclasses import asdict

    from blog.database import begin_write
    from blog.settings import FIELD_TYPES, InvalidSetting, coerce, load_settings, save_settings

    parsed: dict[str, str] = {}
    for change in changes:
        name, sep, value = change.partition("=")
        if not sep:
            raise click.BadParameter(f"{change!r}: use NAME=VALUE.", param_hint="--set")
        parsed[name.strip()] = value
    try:
        for name, value in parsed.items():
            coerce(name, value)
    except InvalidSetting as error:
        known = ", ".join(FIELD_TYPES)
        raise click.ClickException(f"{error} Settings are: {known}.") from None
    if parsed:
        begin_write()
        save_settings(parsed)
    for name, value in asdict(load_settings()).items():
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        if isinstance(shown, str) and "\n" in shown:
            shown = " | ".join(shown.splitlines())
        marker = "  (changed)" if name in parsed else ""
        click.echo(f"{name} = {shown}{marker}")


@blog_cli.command("purge")
@click.option(
    "--spam-days",
    default=15,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delete spam older than this many days.",
)
@click.option(
    "--trash-days",
    default=30,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delete trashed comments older than this many days.",
)
@click.option(
    "--mail-days",
    default=7,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delete outbox mail sent or given up more than this many days ago.",
)
def purge_command(spam_days: int, trash_days: int, mail_days: int) -> None:
    """Delete spam and trashed comments older than the given number of days, for good, and
    comments left unconfirmed for 7 days; delete mail sent (or given up) more than mail-days
    ago from the outbox; shorten IP addresses (of comments and reports, and those quoted in
    held reasons and moderation events) older than the ip_retention_days setting."""
    from blog.comments.privacy import truncate_old_ips
    from blog.comments.purge import purge_comments
    from blog.mail.outbox import purge_done
    from blog.settings import load_settings

    purged = purge_comments(spam_days, trash_days)
    click.echo(
        f"deleted {purged.spam} spam comment(s) older than {spam_days} days and "
        f"{purged.trash} trashed comment(s) older than {trash_days} days"
    )
    click.echo(f"deleted {purged.unconfirmed} comment(s) left unconfirmed for 7 days")
    mails = purge_done(mail_days)
    click.echo(f"deleted {mails} mail(s) sent or given up more than {mail_days} days ago")
    days = load_settings().ip_retention_days
    if days:
        shortened = truncate_old_ips(days)
        for count, what in ((shortened.comments, "comment"), (shortened.reports, "report")):
            click.echo(f"shortened the IP address of {count} {what}(s) older than {days} days")
        click.echo(
            f"shortened the IP addresses quoted in {shortened.reasons} held reason(s) and "
            f"{shortened.events} moderation event(s) older than {days} days"
        )
    else:
        click.echo("IP addresses are kept (ip_retention_days = 0)")


@blog_cli.command("send-mail")
def send_mail_command() -> None:
    """Send every notification due in the outbox (run it from cron every minute); failures
    are retried later with backoff. Safe to run on several hosts at once."""
    from blog.mail.outbox import send_due, waiting
    from blog.mail.transport import mail_server

    server = mail_server(current_app.config)
    if server is None:
        raise click.ClickException("no mail server is configured (BLOG_MAIL_SERVER)")
    done = send_due(server, max_attempts=int(current_app.config["MAIL_MAX_ATTEMPTS"]))
    click.echo(
        f"sent {done.sent}, to retry later {done.retried}, given up {done.given_up}; "
        f"{waiting()} waiting"
    )


@blog_cli.command("token")
@click.argument("username")
@click.option("--name", "label", default="", help="What the token is for, shown in the list.")
@click.option(
    "--revoke",
    type=click.IntRange(min=1),
    default=None,
    metavar="ID",
    help="Revoke the user's token ID (see `flask blog tokens`) instead.",
)
def token_command(username: str, label: str, revoke: int | None) -> None:
    """Create a JSON API bearer token for USERNAME (printed once), or revoke one."""
    from blog.accounts.tokens import TokenError, create_token, revoke_token

    try:
        if revoke is not None:
            revoke_token(username, revoke)
            click.echo(f"revoked token {revoke} of {username}")
            return
        issued = create_token(username, label)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    role = issued.token.user.role.value
    click.echo(
        f"created token {issued.token.id} for {username} ({role}); it is shown only once:", err=True
    )
    click.echo(issued.secret)


@blog_cli.command("tokens")
@click.argument("username", required=False)
def tokens_command(username: str | None) -> None:
    """List the JSON API tokens (of USERNAME, or everyone's): id, user, role, start, name."""
    from blog.accounts.tokens import list_tokens

    found = list_tokens(username)
    for token in found:
        created = token.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{token.id}\t{token.user.username}\t{token.user.role.value}\t{token.hint}…"
            f"\t{created} UTC\t{token.name}"
        )
    if not found:
        click.echo("no tokens")


@blog_cli.command("import-wxr")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--site-settings",
    is_flag=True,
    help="Also take the site title and tagline, sticky posts and post formats from the file.",
)
@click.option(
    "--uploads",
    "uploads",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A copy of the old site's wp-content/uploads: its images come into the media library.",
)
def import_wxr_command(file: str, site_settings: bool, uploads: Path | None) -> None:
    """Import a WordPress export (WXR): authors, categories, tags, posts, pages, comments,
    and with --uploads the attachments' images.

    Safe to run again: what is already there is left alone. A file that is not a WordPress
    export, or a hostile one (entities, DTDs), is refused and nothing is stored. A file
    missing from DIR, or not an image the media library takes, is listed and left out.
    """
    from blog.porting.wxr_import import import_wxr, progress_steps
    from blog.porting.wxr_read import WxrError, read_wxr

    try:
        document = read_wxr(file)
        steps = progress_steps(document, uploads is not None)
        with click.progressbar(length=steps, label="Importing") as bar:
            report = import_wxr(
                document, progress=bar.update, site_settings=site_settings, uploads=uploads
            )
    except WxrError as error:
        raise click.ClickException(str(error)) from None
    _echo_import_report(report, site_settings, uploads is not None)


def _echo_import_report(report: ImportReport, site_settings: bool, uploads: bool) -> None:
    if site_settings:
        click.echo("site title, tagline, sticky posts and post formats: imported")
    kinds = ("authors", "categories", "tags", "posts", "pages", "comments", "redirects")
    for kind in (*kinds, "media") if uploads else kinds:
        click.echo(
            f"{kind}: {report.created[kind]} imported, {report.existing[kind]} already there"
        )
    click.echo(
        f"menu: {report.created['menu items']} item(s) imported"
        + (
            f", {report.existing['menu items']} left (a menu is set)"
            if report.existing["menu items"]
            else ""
        )
        + (
            f", {report.existing['menu items skipped']} skipped (nothing to lead to)"
            if report.existing["menu items skipped"]
            else ""
        )
    )
    click.echo(f"links to old addresses rewritten in content: {report.created['links rewritten']}")
    if uploads:
        click.echo(
            f"links to uploads rewritten in content: {report.created['media links rewritten']}"
        )
    for path, reason in report.files_left_out:
        click.echo(f"file left out: {path}: {reason}")
    for reason, count in sorted(report.skipped.items()):
        click.echo(f"skipped: {count} item(s) of type or status {reason!r}")


@blog_cli.command("check-links")
@click.option("--limit", default=5000, show_default=True, help="Addresses to ask at most.")
def check_links_command(limit: int) -> None:
    """Crawl the published site and list every internal link that does not answer 200.

    Redirects that end at a page are listed too, as fine. Exit status 1 when a link is broken.
    """
    from flask import current_app

    from blog.porting.check_links import check_links

    report = check_links(current_app._get_current_object(), limit)  # type: ignore[attr-defined]
    for url, target, source in report.redirects:
        click.echo(f"redirect: {url} -> {target} (linked from {source})")
    for url, status, source in report.broken:
        click.echo(f"broken: {status} {url} (linked from {source})")
    click.echo(
        f"checked {report.checked} address(es): {len(report.broken)} broken, "
        f"{len(report.redirects)} redirect(s)"
        + (f"; stopped at the limit of {limit}" if report.truncated else "")
    )
    if report.broken:
        raise SystemExit(1)


@blog_cli.command("export-wxr")
@click.argument("file", type=click.File("w", encoding="utf-8", atomic=True))
def export_wxr_command(file: TextIO) -> None:
    """Write every author, category, tag, post and comment as WordPress eXtended RSS 1.2."""
    from flask import current_app

    from blog.porting.wxr_export import export_wxr
    from blog.posts.menus import menu_items
    from blog.settings import load_settings

    site_url = current_app.config.get("SITE_URL") or "http://localhost"
    settings = load_settings()
    menu = menu_items(settings.site_menu)
    with current_app.test_request_context(base_url=site_url):
        counts = export_wxr(file, site_url, settings.site_title, settings.tagline, menu)
    click.echo(
        f"exported {counts.posts} post(s), {counts.comments} comment(s), {counts.authors} "
        f"author(s), {counts.categories} categories and {counts.tags} tags; links use {site_url}",
        err=True,  # FILE may be "-", standard output
    )


@blog_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup_command(file: str) -> None:
    """Copy the live SQLite database to FILE, consistently, while the site runs, and the media
    library's files to FILE.media.tar."""
    from blog.extensions import db
    from blog.porting.backup import BackupError, backup_site

    try:
        made, media = backup_site(db.engine.url, Path(file), Path(current_app.config["MEDIA_PATH"]))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up to {made.path} ({made.size:,} bytes); integrity check: ok")
    click.echo(f"media: {media.files:,} files in {media.path} ({media.size:,} bytes)")


@blog_cli.command("resanitize")
def resanitize_command() -> None:
    """Render every post and comment body again from its source (after an allowlist change)."""
    from blog.porting.resanitize import resanitize_all

    done = resanitize_all()
    click.echo(
        f"posts: {done.posts_changed} of {done.posts} re-rendered; "
        f"comments: {done.comments_changed} of {done.comments} re-rendered; "
        f"automatic excerpts: {done.excerpts_changed} made again; "
        f"categories: {done.categories_changed} of {done.categories} re-rendered"
    )


@blog_cli.group("personal-data")
def personal_data_cli() -> None:
    """Export or erase what the blog holds about a commenter's email address."""


@personal_data_cli.command("export")
@click.argument("email")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the JSON to this file (readable by its owner only) instead of standard output.",
)
def personal_data_export_command(email: str, output: str | None) -> None:
    """Every comment by EMAIL (post, text, status, times, name, website, IP address, user
    agent, notification settings, earlier versions), the reports filed from its IP addresses
    and accounts with that address, as JSON."""
    import json
    import os

    from blog.comments.privacy import PrivacyError, export_personal_data

    try:
        data = export_personal_data(email)
    except PrivacyError as error:
        raise click.ClickException(str(error)) from None
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise click.ClickException(f"Cannot write {output}: {error.strerror}.") from None
    click.echo(f"wrote {len(data['comments'])} comment(s) of {data['email']} to {output}", err=True)


@personal_data_cli.command("erase")
@click.argument("email")
@click.option(
    "--delete-text",
    is_flag=True,
    help="Also delete the comments (their text is replaced where approved replies hang on them).",
)
def personal_data_erase_command(email: str, delete_text: bool) -> None:
    """Anonymize every comment by EMAIL: name, email, website, IP address, user agent and
    notification settings; reports filed from its IP addresses lose that address."""
    from blog.comments.privacy import PrivacyError, erase_personal_data

    try:
        done = erase_personal_data(email, delete_text)
    except PrivacyError as error:
        raise click.ClickException(str(error)) from None
    if not (done.anonymized or done.deleted):
        click.echo(f"no comments by {done.email}; nothing changed")
        return
    click.echo(f"anonymized {done.anonymized} comment(s) of {done.email}")
    click.echo(f"emptied the IP address of {done.reports} report(s) filed from its IP addresses")
    if delete_text:
        click.echo(
            f"deleted {done.deleted} comment(s) for good ({done.approved_removed} of them "
            f"approved); replaced the text of {done.text_replaced} that have approved replies"
        )


@blog_cli.group("spam")
def spam_cli() -> None:
    """The spam filter, taught by the moderators' decisions."""


@spam_cli.command("retrain")
def spam_retrain_command() -> None:
    """Rebuild the spam filter from the comments' current statuses and say what it learned."""
    from blog.comments.spam.learning import retrain
    from blog.settings import load_settings

    learned = retrain()
    settings = load_settings()
    click.echo(
        f"learned from {learned.spam} spam and {learned.ham} approved comment(s); "
        f"{learned.features} features"
    )
    needed = max(1, settings.spam_min_examples)
    if min(learned.spam, learned.ham) < needed:
        click.echo(f"the filter acts once it has seen {needed} of each (spam_min_examples)")
    elif settings.spam_threshold >= 1:
        click.echo("the filter is off (spam_threshold = 1)")
    else:
        click.echo(f"the filter is on: comments scoring above {settings.spam_threshold} are spam")
    if learned.spam_features:
        click.echo("most telling of spam: " + ", ".join(learned.spam_features))
    if learned.ham_features:
        click.echo("most telling of approved comments: " + ", ".join(learned.ham_features))


def init_app(app: Flask) -> None:
    app.cli.add_command(blog_cli)
