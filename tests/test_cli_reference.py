"""docs/cli.md documents every `flask blog` command, argument and option: this walks them all
through click, so a new command or option without its line in the reference fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
from click.testing import CliRunner

from blog.cli import blog_cli
from tests.paths import ROOT

REFERENCE = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"


def commands(
    group: click.Group, path: tuple[str, ...] = ("blog",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group``, with its words after ``flask`` (subgroups walked)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def sections() -> dict[str, str]:
    """Each "## `flask blog ...`" section of the reference, by its command's words."""
    found: dict[str, str] = {}
    parts = re.split(r"^## `flask ([^`]+)`\s*$", REFERENCE.read_text(), flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        words = " ".join(w for w in heading.split() if not w.isupper() and w[0] != "[")
        found[words] = body
    return found


def documented_names(param: click.Parameter) -> list[str]:
    """How the reference must name a parameter: each of an option's flags, an argument's
    metavar (USERNAME, FILE, EMAIL)."""
    if isinstance(param, click.Option):
        return [*param.opts, *param.secondary_opts]
    return [param.human_readable_name.upper()]


def test_the_reference_documents_every_command_and_each_of_its_options() -> None:
    documented = sections()
    missing: list[str] = []
    for path, command in commands(blog_cli):
        section = documented.get(" ".join(path))
        if section is None:
            missing.append(f"flask {' '.join(path)}: no section")
            continue
        for param in command.params:
            for name in documented_names(param):
                if not re.search(rf"`{re.escape(name)}[` =\\]", section):
                    missing.append(f"flask {' '.join(path)}: {name}")
    assert not missing, f"missing from docs/cli.md: {missing}"


def test_the_reference_names_no_command_that_does_not_exist() -> None:
    real = {" ".join(path) for path, _command in commands(blog_cli)}
    assert set(sections()) - real == set()


def test_the_walk_sees_every_command_and_option_of_the_group() -> None:
    found = {" ".join(path): command for path, command in commands(blog_cli)}
    assert {"blog demo", "blog create-user", "blog personal-data export", "blog spam retrain"} <= (
        set(found)
    )
    create_user = found["blog create-user"]
    assert {"--role", "--display-name", "--email"} <= {
        name for param in create_user.params for name in documented_names(param)
    }


def test_flask_blog_help_lists_what_the_walk_finds() -> None:
    listed = CliRunner().invoke(blog_cli, ["--help"], prog_name="flask blog")
    assert listed.exit_code == 0, listed.output
    names = set(re.findall(r"^  ([a-z][a-z-]+)  ", listed.output, flags=re.M))
    assert names == {path[1] for path, _command in commands(blog_cli)}


def test_the_readme_links_the_reference() -> None:
    assert "(docs/cli.md)" in README.read_text()
