"""The exact faust-streaming and aiokafka the runtime fixes were written for.

Each fix overrides a method of theirs, most of them private, and reads their private
state: on another release a method may be gone, renamed or take other arguments, and a
fix would then be skipped silently or break the commit path. A worker refuses to start
instead, saying what differs (`check_runtime`, called when the app is built). Moving to a
new release means reading each fix against its code again (the package docstring says
which upstream changes let a fix go), then updating the versions and signatures here.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

from services.common.errors import ConfigError

VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": "0.7.1"}


def _overridden() -> list[tuple[Any, str, list[str]]]:
    """(upstream class, method, its parameters) of every method the fixes override."""
    import faust
    from faust.tables.manager import TableManager
    from faust.transport.drivers import aiokafka as fa
    from mode.utils.queues import FlowControlEvent, FlowControlQueue

    return [
        (fa.Consumer, "_new_offset", ["self", "tp"]),
        (fa.Consumer, "_add_gap", ["self", "tp", "offset_from", "offset_to"]),
        (fa.Consumer, "perform_seek", ["self"]),
        (fa.Consumer, "getmany", ["self", "timeout"]),
        (fa.Consumer, "on_partitions_revoked", ["self", "revoked"]),
        (fa.Consumer, "on_partitions_assigned", ["self", "assigned", "generation_id"]),
        (fa.Consumer, "force_commit", ["self", "topics", "start_new_transaction"]),
        (fa.Consumer, "_new_consumer_thread", ["self"]),
        (fa.AIOKafkaConsumerThread, "seek_to_committed", ["self"]),
        (fa.Producer, "send_soon", ["self", "fut"]),
        (faust.Stream, "noack", ["self"]),
        (FlowControlQueue, "maybe_endorse_pressure_drop", ["self"]),
        (FlowControlEvent, "resume", ["self"]),
        (faust.App, "_new_transport", ["self"]),
        (faust.App, "_new_producer_transport", ["self"]),
        (faust.App, "FlowControlQueue", ["self", "maxsize", "clear_on_resume"]),
        (TableManager, "recovery", []),  # a property
    ]


def mismatches(
    installed: dict[str, str | None] | None = None,
    overridden: list[tuple[Any, str, list[str]]] | None = None,
) -> list[str]:
    """What differs from what the fixes were written for (empty: all as expected)."""
    found: list[str] = []
    for name, want in VERSIONS.items():
        have = (installed or {}).get(name) if installed is not None else _version(name)
        if have != want:
            found.append(f"{name} {have or 'not installed'} (the fixes are for {want})")
    for cls, method, params in overridden if overridden is not None else _overridden():
        member = inspect.getattr_static(cls, method, None)
        where = f"{cls.__module__}.{cls.__qualname__}.{method}"
        if member is None:
            found.append(f"{where} is gone")
        elif isinstance(member, property):
            continue
        elif list(inspect.signature(getattr(cls, method)).parameters) != params:
            have_params = list(inspect.signature(getattr(cls, method)).parameters)
            found.append(f"{where} takes {have_params}, the fix expects {params}")
    return found


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_runtime() -> None:
    """Refuse to run the fixes over libraries they were not written for."""
    found = mismatches()
    if found:
        raise ConfigError(
            "Newswire's Faust runtime fixes (services/common/runtime) do not fit the "
            "installed libraries: " + "; ".join(found) + ". Install the locked versions "
            "(make venv), or review the fixes against the new release first."
        )
