"""The wheel alone carries the site: installed outside the checkout, it migrates an empty
database, loads the demo and serves the reference post with its stylesheet."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import pytest

from blog.porting.demo import REFERENCE_SLUG
from blog.resources import FOLDERS
from tests.paths import ROOT
from tests.redis_server import free_port

SKIP_WHEN_COPYING = shutil.ignore_patterns(
    ".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__", "bench", ".*cache"
)


def listed_packages() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return set(tomllib.load(handle)["tool"]["setuptools"]["packages"])


def package_folders() -> set[str]:
    """Every package under blog/, and every folder of templates/, static/ and migrations/ under
    the name it has in the wheel (blog._templates.admin ...)."""
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "blog").rglob("__init__.py")
    }
    for name in FOLDERS:
        top = ROOT / name
        for folder in [top, *(p for p in top.rglob("*") if p.is_dir())]:
            if "__pycache__" not in folder.parts:
                found.add(".".join(("blog", f"_{name}", *folder.relative_to(top).parts)))
    return found


def test_pyproject_lists_every_package_and_folder_the_wheel_must_carry() -> None:
    assert listed_packages() == package_folders()


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    """The wheel of a copy of the checkout (the build writes nothing into the checkout)."""
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(ROOT, source, ignore=SKIP_WHEN_COPYING)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    run([*pip, "--wheel-dir", str(dist), str(source)], tmp_path, env)
    (wheel,) = dist.glob("blog-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A virtual environment holding the wheel; the dependencies come from this test's
    environment through a plain path line, which does not run that environment's .pth files
    (so the editable install of the checkout stays out)."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install"]
    run([*install, "--no-deps", "--no-index", str(wheel)], tmp_path, env)
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               tmp_path, env).strip()  # fmt: skip
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@contextmanager
def gunicorn(python: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [str(python), "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "blog.wsgi:app"]
    log = (cwd / "gunicorn.log").open("wb")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/", timeout=5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((cwd / "gunicorn.log").read_text())
                time.sleep(0.1)  # polling a server that is starting, not hiding a race
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


@pytest.mark.slow
def test_the_installed_wheel_migrates_loads_the_demo_and_serves_the_reference_post(
    tmp_path: Path,
) -> None:
    if int(version("setuptools").split(".")[0]) < 77:
        pytest.skip("building the wheel needs setuptools>=77 (the test extra) in this environment")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOG_", "PYTHON"))}
    python = fresh_venv(tmp_path, build_wheel(tmp_path, env), env)
    work = tmp_path / "work"
    work.mkdir()
    where = run([str(python), "-c", "import blog; print(blog.__file__)"], work, env)
    assert where.startswith(str(tmp_path / "venv")), where
    instance = "from blog import create_app; print(create_app().instance_path)"
    assert run([str(python), "-c", instance], work, env).strip() == str(work / "instance")

    env["BLOG_INSTANCE_PATH"] = str(tmp_path / "site")
    run([str(python), "-m", "flask", "--app", "blog", "db", "upgrade"], work, env)
    run([str(python), "-m", "flask", "--app", "blog", "blog", "demo"], work, env)
    assert (tmp_path / "site" / "blog.sqlite3").is_file()

    with gunicorn(python, work, env) as base:
        status, page = fetch(f"{base}/blog/{REFERENCE_SLUG}/")
        assert status == 200
        assert "Posted by: Evans Asare" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
        stylesheets = re.findall(r'<link[^>]+href="(/static/[^"]+\.css[^"]*)"', page)
        assert stylesheets, page[:2000]
        assert fetch(base + stylesheets[0].replace("&amp;", "&"))[0] == 200
