"""The embedded default's secret key: made once, atomically, whatever starts at the same moment."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from blog.config import load_or_create_secret_key

WORKERS = 8
ROUNDS = 10


def start_worker(instance: str, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    barrier.wait(timeout=30)  # every worker looks for the key at the same moment
    try:
        results.put(load_or_create_secret_key(Path(instance)))
    except Exception as error:  # reported to the test, which fails on it
        results.put(f"error: {error!r}")


@pytest.mark.slow
def test_workers_starting_together_on_an_empty_folder_all_get_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_number in range(ROUNDS):
        instance = tmp_path / f"instance-{round_number}"
        barrier, results = context.Barrier(WORKERS), context.Queue()
        workers = [
            context.Process(target=start_worker, args=(str(instance), barrier, results))
            for _ in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        keys = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert len(set(keys)) == 1, keys
        assert len(keys[0]) == 64 and not keys[0].startswith("error"), keys
        assert (instance / "secret_key").read_text() == keys[0]
        assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
        assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left


def test_the_key_is_kept_and_read_again(tmp_path: Path) -> None:
    first = load_or_create_secret_key(tmp_path)
    assert load_or_create_secret_key(tmp_path) == first
