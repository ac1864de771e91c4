"""The benchmark's results: what was measured, printed as tables and saved as JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LoadResult, WorkerSetting

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class EndpointResult:
    name: str
    method: str
    path: str
    result: LoadResult | None  # None: not measured (see note)
    ratio: float | None = None  # requests/s relative to the bare route of the same run
    note: str = ""


@dataclass
class RunResult:
    """One database, one data size, one gunicorn setting."""

    database: str
    size: str
    setting: WorkerSetting
    bare: LoadResult
    endpoints: list[EndpointResult]
    rss_blog_kib: list[int]
    rss_bare_kib: list[int]


@dataclass
class SeedResult:
    database: str
    size: str
    posts: int
    comments: int
    seconds: float
    reused: bool


@dataclass
class Report:
    options: dict[str, Any]
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    machine: dict[str, Any] = field(default_factory=lambda: machine())
    seeds: list[SeedResult] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def load(result: LoadResult | None) -> dict[str, Any] | None:
            if result is None:
                return None
            return {**asdict(result), "rps": round(result.rps, 1), "errors": result.errors}

        runs = []
        for run in self.runs:
            endpoints = [
                {
                    "name": e.name,
                    "method": e.method,
                    "path": e.path,
                    "result": load(e.result),
                    "ratio": None if e.ratio is None else round(e.ratio, 3),
                    "note": e.note,
                }
                for e in run.endpoints
            ]
            runs.append(
                {
                    "database": run.database,
                    "size": run.size,
                    "setting": run.setting.name,
                    "gunicorn": run.setting.command,
                    "bare": load(run.bare),
                    "endpoints": endpoints,
                    "rss_blog_kib": run.rss_blog_kib,
                    "rss_bare_kib": run.rss_bare_kib,
                }
            )
        return {
            "started": self.started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {**self.machine, "load_average_after": list(os.getloadavg())},
            "options": self.options,
            "seeds": [asdict(s) for s in self.seeds],
            "runs": runs,
        }

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path


def machine() -> dict[str, Any]:
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        wrk = ""
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "wrk": wrk.splitlines()[0] if wrk else None,
    }


def _mib(values: list[int]) -> str:
    return ", ".join(f"{v / 1024:.0f}" for v in values) or "?"


def _row(name: str, result: LoadResult | None, ratio: float | None, note: str) -> str:
    if result is None:
        return f"  {name:<30} {'n/a':>9}  {note}"
    line = (
        f"  {name:<30} {result.rps:>9.1f} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} "
        f"{result.errors:>7} {ratio if ratio is not None else 1.0:>8.2f}"
    )
    return f"{line}  {note}" if note else line


def format_run(run: RunResult) -> str:
    lines = [
        f"{run.database} · {run.size} · {run.setting.command}",
        f"  {'endpoint':<30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}",
        _row("bare Flask route", run.bare, 1.0, ""),
    ]
    lines += [_row(e.name, e.result, e.ratio, e.note) for e in run.endpoints]
    lines.append(
        f"  worker RSS after the load (MiB): blog {_mib(run.rss_blog_kib)}; "
        f"bare {_mib(run.rss_bare_kib)}"
    )
    return "\n".join(lines)


def format_seed(seed: SeedResult) -> str:
    what = f"{seed.posts:,} posts, {seed.comments:,} comments"
    if seed.reused:
        return f"{seed.database} · {seed.size}: reusing the kept database ({what})"
    return f"{seed.database} · {seed.size}: seeded {what} in {seed.seconds:.1f} s"


def markdown_table(report: Report) -> str:
    """All runs as one Markdown table, for the README."""
    lines = [
        "| database | data | gunicorn | endpoint | req/s | p50 ms | p99 ms | errors | vs bare |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in report.runs:
        head = f"| {run.database} | {run.size} | {run.setting.name}"
        rows = [("bare Flask route", run.bare, 1.0, "")]
        rows += [(e.name, e.result, e.ratio, e.note) for e in run.endpoints]
        for name, result, ratio, note in rows:
            if result is None:
                lines.append(f"{head} | {name} | n/a | | | | {note} |")
            else:
                lines.append(
                    f"{head} | {name} | {result.rps:.0f} | {result.p50_ms:.1f} | "
                    f"{result.p99_ms:.1f} | {result.errors} | {ratio or 0:.2f} |"
                )
    return "\n".join(lines)
