"""faust.App with Newswire's runtime fixes installed through Faust's own hooks.

The transport (`_new_transport`) brings the consumer, the producer and the transaction
manager; the app's stream-buffer queues and flow control, its Stream class and its
TableManager are Faust's extension points too. Nothing of Faust or aiokafka is patched:
another faust.App in the same process runs Faust as it comes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TransportT
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from services.common.runtime.consumer import Consumer
from services.common.runtime.flow import KeepBuffersOnResume, Queue
from services.common.runtime.recovery import TableManager
from services.common.runtime.transactions import Producer, SourceTransactions, Stream
from services.common.runtime.versions import check_runtime


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[Any]] = Consumer
    Producer: ClassVar[type[Any]] = Producer
    TransactionManager: ClassVar[type[Any]] = SourceTransactions


class App(faust.App):
    """faust.App with the fixes of this package; refuses to be built on a faust-streaming
    or aiokafka other than the ones they were written for (versions.py)."""

    def __init__(self, id: str, **options: Any) -> None:
        check_runtime()
        options.setdefault("Stream", Stream)
        options.setdefault("TableManager", TableManager)
        super().__init__(id, **options)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepBuffersOnResume(loop=self.loop)

    def FlowControlQueue(
        self, maxsize: int | None = None, *, clear_on_resume: bool = False
    ) -> ThrowableQueue:  # type: ignore[type-arg]
        return Queue(
            maxsize=maxsize, flow_control=self.flow_control, clear_on_resume=clear_on_resume
        )

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> TransportT:
        return Transport(self.conf.broker_producer, self)
