"""Serving with gunicorn and loading with wrk: the processes, their results, their memory.

Each gunicorn runs in a process group of its own and is stopped (TERM, then KILL) when its
``serve`` block ends, whatever ends it: a finished run, an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
USER_AGENT = "blog-bench/1 (wrk)"
RESULT_PREFIX = "BENCH_RESULT "
REQUEST_TIMEOUT_S = 10


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or broke; the message says what."""


@dataclass(frozen=True)
class WorkerSetting:
    """One way of running gunicorn, applied alike to the blog and to the bare route."""

    name: str
    args: tuple[str, ...]

    @property
    def command(self) -> str:
        return "gunicorn " + " ".join(self.args)


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options of a load run, the same for the blog's bench and for its peers."""
    parser.add_argument("--duration", type=int, default=10, help="whole seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="gunicorn workers (default: one per core)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")


def check_load_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    if options.duration <= 0 or options.connections < 1 or options.workers < 1:
        parser.error("--duration, --connections and --workers must be positive")


def worker_settings(workers: int, threads: int) -> list[WorkerSetting]:
    return [
        WorkerSetting("sync", ("-w", str(workers))),
        WorkerSetting("gthread", ("-k", "gthread", "-w", str(workers), "--threads", str(threads))),
    ]


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured for one endpoint."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    http_errors: int  # responses that were not 2xx or 3xx
    socket_errors: int  # connect, read, write errors and timeouts

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.http_errors + self.socket_errors


@dataclass
class Server:
    """A running gunicorn master on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def worker_rss_kib(self) -> list[int]:
        return [rss for pid in self.worker_pids() if (rss := rss_kib(pid)) is not None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    """Live direct children of ``pid`` (gunicorn's workers), from /proc; zombies left out."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, ValueError):
            # The command name is in parentheses and may hold spaces; state and ppid follow it.
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            if ppid == str(pid) and state != "Z":
                found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (VmRSS in /proc/<pid>/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """TERM the whole process group, then KILL it if it is still there after ``grace`` s."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serve(
    app_spec: str, setting: WorkerSetting, env: dict[str, str], log_dir: Path, ready_path: str
) -> Iterator[Server]:
    """Run ``gunicorn <setting> app_spec`` on a free loopback port until the block ends."""
    port = free_port()
    log = log_dir / f"gunicorn-{app_spec.split(':')[1].strip('()')}-{setting.name}-{port}.log"
    command = [
        sys.executable, "-m", "gunicorn", *setting.args,
        "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning",
        "--timeout", "60", app_spec,
    ]  # fmt: skip
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, we stop it
        )
    try:
        server = Server(process, port, log)
        _wait_ready(server, ready_path, expected_workers=_workers(setting))
        yield server
    finally:
        stop_process_group(process)


def _workers(setting: WorkerSetting) -> int:
    return int(setting.args[setting.args.index("-w") + 1])


def _wait_ready(server: Server, path: str, expected_workers: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"gunicorn exited; its log:\n{server.log.read_text()[-3000:]}")
        if len(server.worker_pids()) >= expected_workers:
            with suppress(OSError):
                if probe(server.base_url + path) < 500:
                    return
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {timeout:.0f} s; see {server.log}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def probe(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    """One request (POST when ``data`` is given), redirects not followed; the status code."""
    request = urllib.request.Request(
        url, data=data, headers={"User-Agent": USER_AGENT, **(headers or {})}
    )
    try:
        with _opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def wrk_command(
    url: str,
    seconds: int,
    connections: int,
    script: str = "report.lua",
    script_args: Sequence[str] = (),
    headers: dict[str, str] | None = None,
) -> list[str]:
    command = [
        "wrk", "-t", str(min(2, connections)), "-c", str(connections),
        "-d", f"{max(1, seconds)}s", "--timeout", f"{REQUEST_TIMEOUT_S}s",
        "-H", f"User-Agent: {USER_AGENT}", "-s", str(WRK_DIR / script),
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    return command


def run_wrk(command: list[str]) -> LoadResult:
    """Run wrk and read the JSON line its Lua ``done`` hook prints."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise BenchError(f"wrk failed ({process.returncode}): {err.decode(errors='replace')}")
    for line in out.decode(errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            break
    else:
        raise BenchError(f"wrk printed no result:\n{out.decode(errors='replace')}")
    socket_errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        http_errors=int(data["status"]),
        socket_errors=int(socket_errors),
    )
