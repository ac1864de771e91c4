"""The commands in deploy/ exist and take the options written there (they only run on a server,
so nothing else would notice them going stale)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from flask import Flask

from bench.nginx import ROOT

DEPLOY = ROOT / "deploy"


def cron_flask_commands() -> list[list[str]]:
    """The arguments after ``flask --app blog`` on each line of deploy/cron (comments included)."""
    found = []
    for line in (DEPLOY / "cron").read_text().splitlines():
        for match in re.finditer(r"(?:flask|\$FLASK) --app blog ((?:blog|db) [^>&`|]*)", line):
            found.append(shlex.split(match.group(1).replace("\\%", "%")))
    return found


def test_every_flask_command_in_the_cron_file_runs_with_its_options(app: Flask) -> None:
    commands = cron_flask_commands()
    purge = ["blog", "purge", "--spam-days", "15", "--trash-days", "30", "--mail-days", "7"]
    assert purge in commands
    assert ["blog", "send-mail"] in commands
    runner = app.test_cli_runner()
    for arguments in commands:
        if arguments[:2] == ["blog", "purge"]:
            result = runner.invoke(args=arguments)
        else:  # a backup or mail run: the command and its options exist
            result = runner.invoke(args=[*arguments[:2], "--help"])
        assert result.exit_code == 0, (arguments, result.output)


def test_the_unit_runs_the_shipped_gunicorn_config_which_gunicorn_accepts() -> None:
    unit = (DEPLOY / "blog.service").read_text()
    start = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert start and "-c /etc/blog/gunicorn.conf.py blog.wsgi:app" in start.group(1)
    assert "EnvironmentFile=/etc/blog/env" in unit
    checked = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(DEPLOY / "gunicorn.conf.py"),
         "blog.wsgi:app"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "BLOG_DATABASE_URL": "sqlite://", "BLOG_SECRET_KEY": "x"},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
