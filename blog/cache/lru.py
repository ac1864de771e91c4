"""A small thread-safe least-recently-used map, for what each worker keeps in memory: rendered
pages (blog.cache.stores.MemoryPageStore), values per posts version (blog.cache.memo) and the
answers replayed before Flask (blog.cache.replay)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``max_entries`` values, and when ``weigh`` is given at most ``max_weight`` of
    their weights together (a page's bytes, say); the least recently read or written goes first.
    Safe to share between the threads of a worker."""

    def __init__(
        self,
        max_entries: int,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_weight = max_weight
        self.weigh = weigh
        self.weight = 0  # of the values kept, when weighed
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def set(self, key: K, value: V) -> None:
        with self._lock:
            old = self._values.pop(key, None)
            self._values[key] = value
            if self.weigh is not None:
                self.weight += self.weigh(value) - (0 if old is None else self.weigh(old))
            while len(self._values) > self.max_entries or self._too_heavy():
                _, dropped = self._values.popitem(last=False)
                if self.weigh is not None:
                    self.weight -= self.weigh(dropped)

    def _too_heavy(self) -> bool:
        return self.max_weight is not None and self.weight > self.max_weight

    def __len__(self) -> int:
        return len(self._values)
