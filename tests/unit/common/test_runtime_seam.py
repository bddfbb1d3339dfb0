"""The runtime fixes are installed through the app's hooks only, and refuse libraries
they were not written for."""

from __future__ import annotations

from typing import Any

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.utils.queues import FlowControlQueue

from services.common import runtime
from services.common.errors import ConfigError
from services.common.runtime import versions
from services.common.runtime.consumer import Consumer
from services.common.runtime.flow import KeepBuffersOnResume, Queue
from services.common.runtime.recovery import MarkerAwareRecovery, TableManager
from services.common.runtime.transactions import SourceTransactions, Stream


def test_the_app_installs_every_fix_through_faust_hooks() -> None:
    app = runtime.App("seam", broker="kafka://127.0.0.1:9", store="memory://")
    assert app.transport.Consumer is Consumer
    assert app.transport.TransactionManager is SourceTransactions
    assert app.producer_transport.Consumer is Consumer
    conf: Any = app.conf
    assert conf.Stream is Stream and conf.TableManager is TableManager
    assert isinstance(app.tables, TableManager)
    assert isinstance(app.tables.recovery, MarkerAwareRecovery)
    assert isinstance(app.FlowControlQueue(maxsize=4), Queue)
    assert isinstance(app.flow_control, KeepBuffersOnResume)
    assert isinstance(app.stream([1]), Stream)


def test_faust_itself_is_left_as_it_comes() -> None:
    # Nothing patched at import: another app in the process runs Faust unchanged.
    assert faust_aiokafka.Consumer._new_offset is not Consumer._new_offset
    assert faust_aiokafka.Transport.Consumer is faust_aiokafka.Consumer
    assert FlowControlQueue.maybe_endorse_pressure_drop is not Queue.maybe_endorse_pressure_drop
    plain = faust.App("plain", broker="kafka://127.0.0.1:9", store="memory://")
    assert plain.transport.Consumer is faust_aiokafka.Consumer
    assert not isinstance(plain.stream([1]), Stream)


def test_the_installed_libraries_are_the_ones_the_fixes_were_written_for() -> None:
    assert versions.mismatches() == []
    versions.check_runtime()  # does not raise


def test_another_release_or_a_changed_method_is_refused() -> None:
    installed = {**versions.VERSIONS, "faust-streaming": "0.16.0", "aiokafka": None}
    found = versions.mismatches(installed=installed, overridden=[])
    assert found == [
        "faust-streaming 0.16.0 (the fixes are for 0.15.3)",
        "aiokafka not installed (the fixes are for 0.14.0)",
    ]

    class Upstream:
        def getmany(self, timeout: float, *, limit: int) -> None: ...

    changed = versions.mismatches(
        installed=dict(versions.VERSIONS),
        overridden=[
            (Upstream, "getmany", ["self", "timeout"]),
            (Upstream, "_new_offset", ["self"]),
        ],
    )
    assert len(changed) == 2
    assert "getmany takes ['self', 'timeout', 'limit']" in changed[0]
    assert changed[1].endswith("Upstream._new_offset is gone")


def test_a_worker_refuses_to_start_on_a_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "VERSIONS", {**versions.VERSIONS, "aiokafka": "0.99.0"})
    with pytest.raises(ConfigError, match=r"aiokafka 0\.14\.0 \(the fixes are for 0\.99\.0\)"):
        runtime.App("refused", broker="kafka://127.0.0.1:9", store="memory://")
