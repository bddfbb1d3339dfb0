"""Build a service's faust.App with Newswire's conventions, and run it as a worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, cast

import faust
import mode
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faust.exceptions import ConsumerNotStarted
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP

from services.common import donemeta, faults, metrics, runtime, tracing
from services.common.health import DEFAULT_PORTS, HealthServer
from services.common.kafka import client_options, ensure_topics, faust_options
from services.common.logging import broker_unreachable
from services.common.runtime import probe
from services.common.runtime.acks import OrderedAcks
from services.common.settings import Settings
from services.common.stage import Handler, Output, Source, Stage
from services.common.stallwatch import Observed, StallWatch, Verdict
from services.common.topics import ALL_TOPICS, BY_NAME, TopicSpec

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 10.0
# Not ready when the broker has not answered the lag probe for this long.
BROKER_STALE_S = 3 * LAG_INTERVAL_S + 5
# Not ready while a lag probe has waited this long for the broker's answer. A paused
# (SIGSTOPped) or wedged broker refuses no connection, so the Kafka client logs nothing;
# the unanswered probe is the first sign (an answer takes milliseconds on a live broker).
BROKER_WAIT_S = 5.0
# A call into the consumer's thread (committed metadata) that takes longer is given up:
# its records are redone rather than the agent held.
CONSUMER_CALL_TIMEOUT_S = 30.0


class StageApp:
    """A faust.App plus the topics it sends to, its stage bookkeeping and its HTTP endpoints."""

    def __init__(self, service: str, settings: Settings, **app_options: Any) -> None:
        self.service = service
        self.settings = settings
        faults.arm(settings.worker.fault_inject)
        tracing.configure(service, settings)
        self.stage = Stage(service, max_message_bytes=settings.kafka.max_message_bytes)
        self.stage.find_headers = current_event_headers
        metrics.zero_stage(service)
        datadir = settings.worker.data_dir / service
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = runtime.App(
            f"newswire-{service}",
            **faust_options(settings),
            store="memory://",
            web_enabled=False,
            datadir=str(datadir),
            # Each agent processes one record at a time per partition: simple ordering,
            # and an offset is acked only after its output is acknowledged by the broker.
            stream_buffer_maxsize=256,
            # No standby replicas: a worker whose standby table partitions became active
            # in a rebalance (another replica joined or left, or a killed member's session
            # expired) was seen to stop consuming those partitions for good (fetcher
            # sharding and cleaner SIGKILL tests). A take-over replays the changelog instead.
            table_standby_replicas=0,
            # The runtime's seek goes back to the beginning where nothing is committed yet.
            consumer_auto_offset_reset="earliest",
            **app_options,
        )
        self._topics: dict[str, faust.TopicT] = {}
        port = settings.http.port or DEFAULT_PORTS[service]
        self.health = HealthServer(
            settings.http.host,
            port,
            self.ready,
            metrics_token=settings.http.metrics_token,
            alive=self.alive,
        )
        # Faust starts app tasks only after table recovery, which can outlast the startup
        # probe; the app's children start before it. The first child: up before the
        # broker clients, and (children stop in reverse) down after them.
        self.app.add_dependency(HealthService(self.health))
        self.app.timer(LAG_INTERVAL_S, on_leader=False)(self._measure_lag)
        self._stalls = StallWatch(settings.worker.stall_after_seconds)
        # Partitions a stall repair did not bring back: /healthz fails while any is held.
        self._stuck: set[TP] = set()
        self._stall_notes: dict[TP, str] = {}
        self._drained_before: set[TP] = set()
        self._flow_stopped_since: float | None = None
        self._wedged = False
        self._broker_probed = False
        self._clock: Callable[[], float] = time.monotonic  # a test's fake clock goes here
        self._broker_ok_at = self._clock()
        # Since when lag probes have gone unanswered (the first one still waiting, or one
        # that gave up); None once one is answered. Kept through a probe that gave up, so
        # readiness does not flap back between probes while the broker stays away.
        self._broker_waiting_since: float | None = None
        # The last spans exported before the process goes (exit would too, but a
        # collector's timeout must not make the stop outlast its grace period unseen).
        self._closers: list[Callable[[], Awaitable[None]]] = [_flush_traces]
        # Faust sends this after the consumer stopped and before the producer's final flush.
        self.app.on_before_shutdown.connect(self._on_shutdown)
        # Which partitions a replica holds decides which feeds and hosts it owns; Faust
        # itself does not log it, and take-over problems cannot be read without it.
        self.app.on_partitions_assigned.connect(self._log_assignment)
        # Weak: an agent restarted by Faust builds new ones and drops the old.
        self._acks: weakref.WeakSet[OrderedAcks] = weakref.WeakSet()
        self._stopping: list[asyncio.Future[None]] = []
        self.app.on_partitions_revoked.connect(self._reset_acks)
        # The graceful stop (see `_finish_in_flight`): set once SIGTERM's shutdown began.
        self.stopping = False
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Per partition since its assignment: offsets its last commit says were done.
        self._done_before: dict[Any, frozenset[int]] = {}
        # Per partition, every offset a commit's metadata said was done, kept through
        # rebalances (done stays done): this worker's own commits carry the ones past
        # their offset, which a plain commit would forget for the partition's next owner.
        self._done_known: dict[TP, frozenset[int]] = {}
        # Lag series of topics this worker no longer reads: the new owner exports them.
        self._lag_topics: set[str] = set()
        self.app.on_partitions_revoked.connect(self._forget_revoked_lag)

    async def _log_assignment(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        by_topic: dict[str, list[int]] = defaultdict(list)
        for tp in self.app.consumer.assignment():
            by_topic[tp.topic].append(tp.partition)
        for topic in by_topic.keys() & BY_NAME.keys():
            # Exported at 0 from the start, so increase() sees the first stall.
            metrics.CONSUMER_STALLS.labels(self.service, topic)
        log.info("assigned: %s", "; ".join(f"{t} {sorted(p)}" for t, p in sorted(by_topic.items())))

    async def _measure_lag(self) -> None:
        """Per input topic: high-water mark minus committed offset, over assigned partitions."""
        consumer = self.app.consumer
        tps = [tp for tp in consumer.assignment() if tp.topic in BY_NAME]
        self._forget_lag(keep={tp.topic for tp in tps})
        if not tps:
            return
        self._broker_probed = True
        if self._broker_waiting_since is None:
            self._broker_waiting_since = self._clock()
        try:
            highwaters = await asyncio.wait_for(consumer.highwaters(*tps), LAG_INTERVAL_S)
        except Exception as exc:  # the broker did not answer: readiness will say so
            log.warning("cannot read high-water marks: %r", exc)
            return
        self._broker_ok_at = self._clock()
        self._broker_waiting_since = None
        # Faust keeps the committed offsets privately; it is the at-least-once truth.
        committed: dict[Any, int | None] = dict(getattr(consumer, "_committed_offset", {}))
        missing = [tp for tp in tps if committed.get(tp) is None]
        if missing:
            # Not committed by this process yet (just assigned, or a partition that has
            # handed nothing out since the start): the group's commit on the broker, else
            # the whole partition counted as behind (a stalled partition read 13,588 for
            # 626 records behind).
            committed.update(await self._group_committed(missing))
        lag: dict[str, int] = defaultdict(int)
        for tp in tps:
            done = committed.get(tp)
            lag[tp.topic] += max(0, (highwaters.get(tp) or 0) - (done or 0))
        # A rebalance during the await may have taken topics away: not theirs to report.
        held = {tp.topic for tp in consumer.assignment()}
        self._forget_lag(keep=held)
        for topic, records in lag.items():
            if topic in held:
                metrics.CONSUMER_LAG.labels(self.service, topic).set(records)
                self._lag_topics.add(topic)
        if self._stalls.after_s > 0:
            await self._watch_stalls(tps, highwaters, committed)

    async def _watch_stalls(
        self, tps: Sequence[Any], highwaters: Mapping[Any, int], committed: Mapping[Any, int | None]
    ) -> None:
        """Find held partitions the consumer stopped handing out (services.common.stallwatch)
        and read them again from their commit."""
        consumer = self.app.consumer
        held = set(consumer.assignment())
        self._stalls.forget(held)
        self._stuck &= held
        if self.stopping or not self.recovered():
            return
        now = self._clock()
        if not getattr(consumer, "flow_active", True):
            # Faust stops the flow for a rebalance and resumes it when the assignment is
            # done, within seconds. One that never resumed (seen in make soak's burst: a
            # rejoin after the revocation that never completed) fetches nothing again;
            # re-fetching partitions mid-rebalance would be wrong: a restart cures it.
            if self._flow_stopped_since is None:
                self._flow_stopped_since = now
            elif now - self._flow_stopped_since >= self._stalls.after_s and not self._wedged:
                self._wedged = True
                log.error(
                    "the consumer's flow has been stopped for %.0fs (a rebalance that never "
                    "ended); failing /healthz so the worker is restarted",
                    now - self._flow_stopped_since,
                )
            return
        self._flow_stopped_since, self._wedged = None, False
        unacked = probe.waiting_partitions(consumer)
        channels = probe.channels_of(self.app)
        mine = [tp for tp in tps if tp in held]
        # Held back for a full buffer that has drained (two rounds running, not a moment
        # between a record taken and the callback that fetches it again).
        drained = runtime.held_back_drained(consumer, mine, channels)
        lost = set(runtime.out_of_fetch(consumer, mine)) | (drained & self._drained_before)
        self._drained_before = drained
        for tp in sorted(lost):
            # Nothing in Faust would ever fetch it again. Its records in flight stay where
            # they are (the fetch resumes after the last one handed out).
            metrics.CONSUMER_STALLS.labels(self.service, tp.topic).inc()
            state = await self._stall_state(tp, highwaters.get(tp) or 0, committed.get(tp))
            start = await runtime.refetch(consumer, tp, committed.get(tp) or 0)
            log.warning(
                "%s: the consumer had stopped handing out its records, with nothing to fetch "
                "it again; fetching it again from offset %d (state when found: %s)",
                tp,
                start,
                state,
            )
        for tp in tps:
            done, highwater = committed.get(tp), highwaters.get(tp) or 0
            if tp not in held or done is None:
                continue
            handed, first = runtime.handed_out(consumer, tp)
            buffered = any(chan.queue.qsize() for chan in channels(tp))
            waiting = tp in unacked or buffered
            seen = Observed(max(0, highwater - done), done, handed, first, waiting)
            verdict = self._stalls.check(tp, seen, now)
            if verdict is Verdict.SUSPECT:
                note = self._stall_notes[tp] = await self._stall_state(tp, highwater, done)
                start = await runtime.refetch(consumer, tp, done)
                log.info(
                    "%s: %d records behind and none handed out for %.0fs with the agent idle: "
                    "fetching it again from offset %d (%s)",
                    tp,
                    seen.lag,
                    self._stalls.after_s,
                    start,
                    note,
                )
                self._stalls.repairing(tp, now, highwater)
            elif verdict is Verdict.RECOVERED:
                metrics.CONSUMER_STALLS.labels(self.service, tp.topic).inc()
                log.warning(
                    "%s: the consumer had stopped handing out its records; fetched again from "
                    "the first one not handed out, they flow (state when found: %s)",
                    tp,
                    self._stall_notes.pop(tp, "?"),
                )
            elif verdict is Verdict.STILL_QUIET:
                position = await self._position(tp)
                if position is not None and position < highwater:
                    self._stuck.add(tp)
                    log.error(
                        "%s: still nothing handed out after reading it again (%s); failing "
                        "/healthz so the worker is restarted",
                        tp,
                        await self._stall_state(tp, highwater, done),
                    )
                else:  # read to the end: the lag is transaction markers, not records
                    log.info("%s: %d offsets behind its commit are not records", tp, seen.lag)

    async def _position(self, tp: Any) -> int | None:
        try:
            return cast(int, await self._in_consumer_thread(partial(probe.position, tp=tp)))
        except Exception as exc:  # revoked meanwhile, say: the next round looks again
            log.debug("cannot read the position of %s: %r", tp, exc)
            return None

    async def _stall_state(self, tp: Any, highwater: int, committed: int | None) -> str:
        """What the consumer's bookkeeping says of `tp`: the cause, when a stall is found."""
        consumer: Any = self.app.consumer
        return (
            f"flow {'active' if consumer.flow_active else 'stopped'}, "
            f"committed {committed}, high-water {highwater}, client position "
            f"{await self._position(tp)}, "
            + probe.fetch_state(consumer, tp, probe.channels_of(self.app)(tp))
        )

    def alive(self) -> bool:
        """False while a partition stays stalled after a repair, or the consumer's flow
        stays stopped: only a restart helps."""
        return not self._stuck and not self._wedged

    async def _group_committed(self, tps: Sequence[Any]) -> dict[Any, int]:
        """The group's committed offsets of `tps` on the broker (empty when it cannot say)."""
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        try:
            await asyncio.wait_for(admin.start(), LAG_INTERVAL_S)
            found = await asyncio.wait_for(
                admin.list_consumer_group_offsets(self.app.conf.id), LAG_INTERVAL_S
            )
        except Exception as exc:  # the lag is reported from what this process knows
            log.debug("cannot read the group's committed offsets: %r", exc)
            return {}
        finally:
            await admin.close()
        by_key = {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}
        out = {}
        for tp in tps:
            offset = by_key.get((tp.topic, tp.partition))
            if offset is not None and offset >= 0:
                out[tp] = offset
        return out

    def _forget_lag(self, keep: set[str]) -> None:
        """Drop the lag series of topics not in `keep`.

        A kept series would repeat its last value forever, and `sum by (stage)` would
        count those records again beside the partitions' new owner.
        """
        for topic in self._lag_topics - keep:
            metrics.CONSUMER_LAG.remove(self.service, topic)
        self._lag_topics &= keep

    async def _forget_revoked_lag(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        revoked = set(args[0]) if args else set()  # Faust sends the revoked partitions
        try:
            assigned = set(self.app.consumer.assignment())
        except Exception:  # the consumer is stopping: it holds nothing
            assigned = set()
        self._forget_lag(keep={tp.topic for tp in assigned - revoked})

    def on_shutdown(self, close: Callable[[], Awaitable[None]]) -> None:
        """Run `close` (an HTTP client's, say) when the worker stops, after the work in
        flight finished (`on_stopping`)."""
        self._closers.append(close)

    def on_stopping(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Run `stop` first when the worker stops: an agent's way to stop taking new work
        and finish what it began (bounded by stop_grace_seconds)."""
        self._stoppers.append(stop)

    @contextlib.asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Mark an agent's work on one event: a graceful stop waits for it to end.

        For agents on streams Faust does not wait for (stream_wait_empty=False)."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def _on_shutdown(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # Faust has stopped fetching; its agents run until its children stop, after this.
        await self._finish_in_flight()
        for close in self._closers:
            try:
                await close()
            except Exception:  # shutting down anyway: log, do not mask the rest
                log.exception("error while closing %s", close)

    async def _finish_in_flight(self) -> None:
        """SIGTERM: let the work begun finish, acknowledge it, and commit, so a restarted
        worker redoes at most what did not finish within the grace time.

        Faust alone did not: with stream_wait_empty=False it commits only what was
        acknowledged when its agents are cancelled, and ordered acknowledgements (the
        fetcher's lanes, dedup's hops) hold back every record finished behind one still
        open; the fetcher's HTTP client was even closed under its requests.
        """
        self.stopping = True
        started = time.monotonic()
        if self.app.crash_reason is None:  # after a crash the outputs cannot go out anyway
            try:
                await asyncio.wait_for(self._settle(), self.settings.worker.stop_grace_seconds)
            except TimeoutError:
                log.warning(
                    "work still in flight after %.0fs: it is redone after a restart",
                    self.settings.worker.stop_grace_seconds,
                )
        if self.settings.worker.processing_guarantee == "exactly_once":
            return  # the consumer's stop commits the acknowledged offsets in its transaction
        try:
            for _ in range(2):  # the first may only wait for a commit already under way
                await self.app.consumer.commit()
            await self._commit_done_beyond()
        except Exception:  # the records are read again: redone, not lost
            log.exception("final commit failed")
        log.info("in-flight work finished and committed in %.1fs", time.monotonic() - started)

    async def _settle(self) -> None:
        await asyncio.gather(*(stop() for stop in self._stoppers))
        await self._idle.wait()
        for acks in list(self._acks):
            await acks.flush()

    async def _commit_done_beyond(self) -> None:
        """Commit, with each partition's offset, which records after it are done too (see
        donemeta), for agents that skip those (`done_before`)."""
        consumer = self.app.consumer
        committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for acks in list(self._acks):
            if not acks.skip_done:
                continue
            for tp, (base, done) in acks.finished_beyond().items():
                # Done before this worker and not read yet: still done.
                done = [*done, *self._done_known.get(TP(tp.topic, tp.partition), ())]
                # Anything else means a record before `base` is not acknowledged: the
                # bitmap would describe another commit point.
                if committed.get(tp) == base and (meta := donemeta.encode_done(base, done)):
                    offsets[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(base, meta)
                else:
                    log.warning(
                        "%s: %d records done past offset %d not recorded (committed: %s)",
                        tp,
                        len(done),
                        base,
                        committed.get(tp),
                    )
        if not offsets:
            return

        async def commit(kafka_consumer: Any) -> None:
            await kafka_consumer.commit(offsets)

        await self._in_consumer_thread(commit)
        log.info(
            "committed records done past the commit point: %s",
            "; ".join(f"{tp.topic}[{tp.partition}]@{om.offset}" for tp, om in offsets.items()),
        )

    async def done_before(self, event: Any) -> bool:
        """Whether the worker before this one finished `event` (its outputs are on the
        broker) although it could not commit past it; the caller acknowledges it unread."""
        msg = event.message
        done = self._done_before.get(msg.tp)
        if done is None:
            try:
                assigned = msg.tp in self.app.consumer.assignment()
            except ConsumerNotStarted:
                assigned = False
            if not assigned:
                # Not read through the group here (Faust's test_context feeds an agent
                # with no consumer thread, whose call_thread would never return), or
                # revoked meanwhile: no commit to read. Not remembered: an assignment
                # of the partition may follow.
                return False
            done = self._done_before[msg.tp] = await self._fetch_done(msg.tp)
        return msg.offset in done

    async def _fetch_done(self, tp: Any) -> frozenset[int]:

        async def fetch(kafka_consumer: Any) -> Any:
            # Every commit of this client (Faust's own too) carries the known done
            # offsets past it in its metadata (donemeta.carried): without it the first
            # commit after a restart forgets what the stopped worker noted, and a
            # rebalance soon after (a rolling restart) hands the partition to a worker
            # that redoes those records. `_done_known`'s values are replaced whole,
            # never changed, so the consumer's thread may read them.
            probe.carry_in_commits(kafka_consumer, self._with_known_done)
            return await probe.committed_with_metadata(kafka_consumer, tp)

        known = self._done_known.get(TP(tp.topic, tp.partition), frozenset())
        try:
            found = await self._in_consumer_thread(fetch)
        except Exception as exc:  # redone rather than skipped
            log.warning("cannot read the committed metadata of %s: %r", tp, exc)
            return known
        if found is None:
            return known
        done = donemeta.decode_done(found.metadata, found.offset)
        if done:
            log.info("%s: %d records past offset %d were done before", tp, len(done), found.offset)
        # What the commit passed is behind every reader now.
        done = frozenset(o for o in done | known if o >= found.offset)
        self._done_known[TP(tp.topic, tp.partition)] = done
        return done

    def _with_known_done(self, tp: Any, om: Any) -> Any:
        offset, metadata = (om, "") if isinstance(om, int) else (om.offset, om.metadata)
        known = self._done_known.get(TP(tp.topic, tp.partition))
        if not known:
            return om
        return OffsetAndMetadata(offset, donemeta.carried(offset, metadata, known))

    async def _in_consumer_thread(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """`fn(kafka_consumer)` in the consumer's thread, given up after
        CONSUMER_CALL_TIMEOUT_S (probe.in_consumer_thread)."""
        return await probe.in_consumer_thread(self.app, fn, CONSUMER_CALL_TIMEOUT_S)

    def topic(self, name: str, **kw: Any) -> faust.TopicT:
        if name not in self._topics:
            self._topics[name] = self.app.topic(
                name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                **kw,
            )
        return self._topics[name]

    def ready(self) -> bool:
        """Ready while the consumer holds partitions, the tables are recovered and the
        broker answered lately.

        The lag probe asks the broker for high-water marks every LAG_INTERVAL_S; one left
        waiting BROKER_WAIT_S (a paused broker: no error, no answer) makes the worker not
        ready until a probe is answered, and so do probes that keep failing. A broker
        that refuses connections shows sooner, in the Kafka client's own errors
        (services.common.logging counts them as they are logged).
        """
        if broker_unreachable():
            return False
        try:
            assigned = bool(self.app.consumer.assignment())
        except Exception:  # before the consumer exists
            return False
        now = self._clock()
        waiting = self._broker_waiting_since
        broker_silent = (waiting is not None and now - waiting > BROKER_WAIT_S) or (
            self._broker_probed and now - self._broker_ok_at > BROKER_STALE_S
        )
        return assigned and self.recovered() and not broker_silent

    def recovered(self) -> bool:
        """The first changelog replay is done and no later one (after a rebalance) runs.

        Agents wait for it; until then a worker holding partitions still processes nothing.
        """
        recovery = self.recovery
        return recovery.completed.is_set() and not recovery.in_recovery

    @property
    def recovery(self) -> Recovery:
        """Faust's changelog replay service (its type stub does not show it)."""
        return cast(TableManager, self.app.tables).recovery

    async def handle(
        self, event: faust.EventT[Any], fn: Handler, *, offload: bool = False, counted: bool = True
    ) -> list[Output]:
        """`fn` over the event's record through the stage (`Stage.handle`: dead letters,
        metrics, the process pool with `offload`, the trace span)."""
        msg = event.message
        source = Source(msg.topic, msg.partition, msg.offset, msg.key, msg.headers)
        return await self.stage.handle(source, msg.value, fn, offload=offload, counted=counted)

    def ordered_acks(self, stream: Any, *, skip_done: bool = False) -> OrderedAcks:
        """Ordered acknowledgements for a `stream.noack()` stream, reset when partitions
        are revoked. A failed send stops the worker (not just the agent, which Faust
        would restart in place without reading the records again).

        skip_done: the agent asks `done_before` for each event and acknowledges those
        unread, so the graceful stop commits which records past the commit point are done.
        """

        acks = OrderedAcks(stream, on_error=self._stop_worker, skip_done=skip_done)
        self._acks.add(acks)
        return acks

    def _stop_worker(self, exc: BaseException) -> None:
        """Crash the whole worker: an agent that raises is restarted in place by Faust,
        which does not read its unacknowledged record again (its partition's commits
        would stall behind it); a restarted worker reads from the committed offsets."""
        log.error("output not delivered, stopping the worker: %r", exc)
        # A reference kept, so the task is not collected before it runs.
        self._stopping.append(asyncio.ensure_future(self.app.crash(exc)))

    async def _reset_acks(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        self._done_before.clear()
        for acks in list(self._acks):
            acks.reset()

    async def send_soon(self, outputs: Sequence[Output]) -> list[Any]:
        """Hand outputs to the producer; their futures resolve when the broker has them."""
        return [
            await self.topic(out.topic).send(
                key=out.key,
                value=out.value,
                partition=out.partition,
                headers=list(out.headers) or None,
            )
            for out in outputs
        ]

    async def send(self, outputs: Sequence[Output], *, counted: bool = True) -> None:
        """Produce and wait for the broker's ack of each output before the event is acked.

        All are handed to the producer first and then awaited together: one round trip
        for an event's outputs, not one each (dedup asks ~10 lookups per article)."""
        try:
            futures = await self.send_soon(outputs)
            if futures:
                await asyncio.gather(*futures)
        except Exception as exc:
            self._stop_worker(exc)
            raise
        if counted:
            self.stage.count_out(outputs)


def current_event_headers(source: Source) -> tracing.KafkaHeaders | None:
    """The headers of the Faust event being processed, when `source` is that record (the
    same topic and key): an agent that hands over a record it gathered (dedup's decider,
    a record keyed by its sequence number) handles it while its last part is current."""
    event = faust.current_event()
    if event is None:
        return None
    msg = event.message
    if msg.topic != source.topic or msg.key != source.key:
        return None
    headers: tracing.KafkaHeaders | None = msg.headers
    return headers


async def _flush_traces() -> None:
    if tracing.enabled():
        await asyncio.to_thread(tracing.flush)


class HealthService(mode.Service):
    """Runs a HealthServer for as long as the Faust app it is a dependency of."""

    def __init__(self, server: HealthServer, **kwargs: Any) -> None:
        self.server = server
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self.server.start()

    async def on_stop(self) -> None:
        await self.server.stop()


def changelog_specs(app: faust.App) -> tuple[TopicSpec, ...]:
    """The app's table changelogs, so they exist (with leaders) before the worker starts.

    Faust would declare them itself, but a first record can then arrive before the
    consumer's metadata knows the new topic, and the table refuses it
    (PartitionsMismatch: changelog has 0 partitions).
    """
    return tuple(
        TopicSpec(
            table.changelog_topic.get_topic_name(),
            "table key",
            "",
            compacted=True,
            internal=True,
            partitions=table.partitions,  # as many as the table's source topic
        )
        for table in app.tables.values()
    )


def run_worker(stage_app: StageApp) -> None:
    """Declare the topics, then run the Faust worker until SIGTERM/SIGINT."""
    settings = stage_app.settings
    asyncio.run(ensure_topics(settings, ALL_TOPICS + changelog_specs(stage_app.app)))
    from faust.worker import Worker

    worker = Worker(stage_app.app, loglevel=settings.logs.level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
