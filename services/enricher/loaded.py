"""Models and indexes built once per worker process, on first use, whatever the thread.

The enricher runs in threads (the agent offloads each article; a warm-up thread loads
everything at start-up), so two threads may ask for a model at once: the first builds
it, the other waits for it rather than building a second copy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loaded(Generic[K, V]):
    """`build(key)` run at most once per key; how long each build took, by key."""

    def __init__(self, what: str, build: Callable[[K], V]) -> None:
        self.what = what
        self._build = build
        self._values: dict[K, V] = {}
        self.seconds: dict[K, float] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V:
        found = self._values.get(key)
        if found is not None:
            return found
        with self._lock:
            if key not in self._values:
                started = time.perf_counter()
                self._values[key] = self._build(key)
                self.seconds[key] = time.perf_counter() - started
                log.info("loaded %s %s in %.2fs", self.what, key, self.seconds[key])
            return self._values[key]
