"""The shipped nginx site (deploy/nginx/blog.conf), run on loopback by the tests and the benchmark.

:func:`render_site` replaces, in the shipped file, only what differs on this machine; everything
else (caching, forwarded headers, buffering, static files) is exactly what an operator installs.
:func:`run_nginx` wraps it in a minimal ``nginx.conf`` of its own in a temporary folder (pid, logs,
temp and cache paths there; the system's /etc/nginx is never read) and runs Debian's nginx on it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_FILE = ROOT / "deploy" / "nginx" / "blog.conf"
NGINX = os.environ.get("BLOG_TEST_NGINX", "/usr/sbin/nginx")
SERVER_NAME = "blog.example.com"  # the shipped file's server_name, kept as is

# The lines an operator changes (marked CHANGE in the file) and nothing else.
_LISTEN = re.compile(r"^    listen 80;$", re.M)
_LISTEN_V6 = re.compile(r"^    listen \[::\]:80;\n", re.M)
_UPSTREAM = re.compile(r"^    server 127\.0\.0\.1:8000;.*$", re.M)
_CACHE_PATH = re.compile(r"^proxy_cache_path /var/lib/nginx/blog-cache ", re.M)
_STATIC = re.compile(
    r"^        alias /srv/blog/venv/lib/python3\.11/site-packages/blog/_static/;.*$", re.M
)
_MEDIA = re.compile(r"^        alias /var/lib/blog/media/;.*$", re.M)

MAIN_CONF = """\
{user}worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    sendfile on;
    tcp_nopush on;
    types {{
        text/html html;
        text/css css;
        application/javascript js;
        image/svg+xml svg;
        image/png png;
    }}
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/blog.conf;
}}
"""


def _replace_once(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    new, count = pattern.subn(lambda _m: replacement, text)
    if count != 1:
        raise ValueError(f"{SITE_FILE} no longer has one line matching {pattern.pattern!r}")
    return new


def render_site(
    site: str,
    *,
    port: int,
    upstreams: Sequence[str],
    cache_dir: Path,
    static_dir: Path,
    media_dir: Path,
) -> str:
    """The shipped site file with its CHANGE lines set for this machine: listen on
    127.0.0.1:``port`` (no IPv6 listener), one ``server`` line per upstream address
    ("host:port"), the cache in ``cache_dir``, ``/static/`` from ``static_dir`` and ``/media/``
    from ``media_dir``."""
    text = _replace_once(_LISTEN, f"    listen 127.0.0.1:{port};", site)
    text = _replace_once(_LISTEN_V6, "", text)
    servers = "\n".join(f"    server {address};" for address in upstreams)
    text = _replace_once(_UPSTREAM, servers, text)
    text = _replace_once(_CACHE_PATH, f"proxy_cache_path {cache_dir} ", text)
    text = _replace_once(_STATIC, f"        alias {static_dir}/;", text)
    return _replace_once(_MEDIA, f"        alias {media_dir}/;", text)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Until something accepts connections on 127.0.0.1:``port`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-3000:]}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within 30 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM, then KILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Nginx:
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def nginx_missing() -> str | None:
    """Why nginx cannot run here, or None."""
    if not (os.path.exists(NGINX) and os.access(NGINX, os.X_OK)):
        return f"{NGINX} is not installed (apt-get install nginx; .ci/run does)"
    return None


@contextmanager
def run_nginx(
    folder: Path,
    upstreams: Sequence[str],
    static_dir: Path,
    workers: int = 1,
    media_dir: Path | None = None,
) -> Iterator[Nginx]:
    """The shipped site in front of ``upstreams``, on a free loopback port, until the block ends.
    ``/media/`` is served from ``media_dir`` (by default an empty folder of its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = render_site(
        SITE_FILE.read_text(),
        port=port,
        upstreams=upstreams,
        cache_dir=folder / "cache",
        static_dir=static_dir,
        media_dir=media_dir or folder / "media",
    )
    (folder / "blog.conf").write_text(site)
    # As root, nginx's workers would switch to "nobody", who cannot read the temporary folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    conf = MAIN_CONF.format(user=user, workers=workers, tmp=folder)
    (folder / "nginx.conf").write_text(conf)
    log = folder / "error.log"
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(log)]
    check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the site:\n{check.stderr}")
    with (folder / "nginx.out").open("wb") as out:
        process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, process, "nginx", log)
        yield Nginx(port, folder)
    finally:
        stop(process)
        shutil.rmtree(folder / "cache", ignore_errors=True)
