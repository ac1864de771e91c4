"""Where the product's files are: templates, static files, migrations and the instance folder.

``templates/``, ``static/`` and ``migrations/`` stay at the top of the repository; the wheel carries
them inside the package as ``blog/_templates``, ``blog/_static`` and ``blog/_migrations`` (the
``package-dir`` mapping in pyproject.toml). One function finds them in either place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
FOLDERS = ("templates", "static", "migrations")


def folder(name: str) -> Path:
    """``templates``, ``static`` or ``migrations``: inside the installed package, else beside it
    in the checkout (a source tree or an editable install)."""
    if name not in FOLDERS:
        raise ValueError(f"unknown folder {name!r}")
    for candidate in (PACKAGE / f"_{name}", CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"The blog's {name}/ folder is missing (looked in {PACKAGE}, {CHECKOUT}).")


def running_from_checkout() -> bool:
    """Imported from a source tree (or an editable install of one), not from an installed wheel."""
    return not (PACKAGE / "_templates").is_dir() and (CHECKOUT / "pyproject.toml").is_file()


def default_instance_path() -> Path:
    """``instance/`` beside the checkout when running from one; else in the current directory."""
    if running_from_checkout():
        return CHECKOUT / "instance"
    return Path.cwd() / "instance"
