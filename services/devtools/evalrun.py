"""Extractors over a dataset's pages: every extractor over every page, passes interleaved.

Shared by the two evaluations (`evalextract`, the article extraction benchmark, and
`evalsnippets`, trafilatura's evaluation set): each scores the `Run`s in its own way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

Extractor = Callable[[str], str]


class ExpectedEmpty(Exception):
    """An extractor found nothing, in its own way: scored as an empty prediction."""


class Page(Protocol):
    """What an extractor run needs of a dataset's page."""

    @property
    def id(self) -> str: ...

    @property
    def html(self) -> str: ...


@dataclass
class Run:
    """One extractor over the whole dataset."""

    predictions: list[str]
    errors: dict[str, str] = field(default_factory=dict)  # id -> error, empty prediction
    crashes: dict[str, str] = field(default_factory=dict)  # id -> unexpected exception
    pass_seconds: list[float] = field(default_factory=list)  # wall clock per pass
    pass_cpu_seconds: list[float] = field(default_factory=list)  # this process's CPU per pass
    nondeterministic: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return min(self.pass_seconds)

    @property
    def cpu_seconds(self) -> float:
        return min(self.pass_cpu_seconds)


def _one_pass(
    extractor: Extractor, docs: Sequence[Page]
) -> tuple[list[str], dict[str, str], dict[str, str], float, float]:
    predictions: list[str] = []
    errors: dict[str, str] = {}
    crashes: dict[str, str] = {}
    elapsed = cpu = 0.0
    for doc in docs:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            text = extractor(doc.html)
        except ExpectedEmpty as exc:
            text = ""
            errors[doc.id] = str(exc)
        except Exception as exc:  # a crash is reported and scored as an empty prediction
            text = ""
            crashes[doc.id] = f"{type(exc).__name__}: {exc}"
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        predictions.append(text)
    return predictions, errors, crashes, elapsed, cpu


def run_extractors(
    docs: Sequence[Page], extractors: Mapping[str, Extractor], *, passes: int = 2
) -> dict[str, Run]:
    """Every extractor over every document, `passes` times, interleaved by extractor."""
    runs: dict[str, Run] = {}
    for _ in range(max(1, passes)):
        for name, extractor in extractors.items():
            predictions, errors, crashes, seconds, cpu = _one_pass(extractor, docs)
            run = runs.get(name)
            if run is None:
                runs[name] = Run(predictions, errors, crashes, [seconds], [cpu])
                continue
            run.pass_seconds.append(seconds)
            run.pass_cpu_seconds.append(cpu)
            for doc, first, again in zip(docs, run.predictions, predictions, strict=True):
                if first != again and doc.id not in run.nondeterministic:
                    run.nondeterministic.append(doc.id)
    return runs
