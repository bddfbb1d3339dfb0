"""The fetcher's Faust app.

newswire.feeds registers feeds in the `feed-state` table; a timer sends a poll
command (newswire.feed-polls, same partition as the feed) for each due feed this
replica owns; the poll agent does the conditional GET and emits new entries to
newswire.entries (keyed by host); the page agent fetches each entry's page into
newswire.pages. Table writes happen only in agents on co-partitioned topics, so
a replica that takes over a partition carries on from that partition's state.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from faust.types import TP

from services.common import faults, metrics
from services.common.faustapp import StageApp
from services.common.models import FeedPoll, encode
from services.common.runtime.acks import HOLDING_RECORDS
from services.common.runtime.fenced import FencedTable
from services.common.settings import Settings
from services.common.stage import Outcome
from services.common.topics import ENTRIES, FEED_POLLS, FEEDS
from services.common.warcarchive import open_archive
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.net.lanes import HostLanes
from services.fetcher.net.politeness import HostGate
from services.fetcher.net.robots import RobotsCache
from services.fetcher.pipeline import (
    STAGE,
    PolledFeed,
    fetch_page_or_feed,
    plan_poll,
    register_feed,
)
from services.fetcher.scheduling import PollScheduler
from services.fetcher.state.schedule import ScheduledTable


def build(settings: Settings) -> StageApp:
    # The page agent reads up to page_backlog entries ahead, and waiting for all their
    # pages (each host in its turn) before a rebalance would stall the group for minutes
    # (HOLDING_RECORDS). A poll under way finds its feed gone (FencedTable).
    sa = StageApp(STAGE, settings, **HOLDING_RECORDS)
    app = sa.app
    table = app.Table(
        "feed-state", key_type=str, value_type=str, partitions=settings.kafka.topic_partitions
    )
    feed_state = ScheduledTable(table)

    async def rebuild_schedule() -> None:
        feed_state.rebuild()

    table.on_recover(rebuild_schedule)
    client = HttpClient(settings)
    sa.on_shutdown(client.close)
    archive = open_archive(settings)
    if archive is not None:
        closing = archive

        async def close_archive() -> None:
            closing.close()

        sa.on_shutdown(close_archive)
    scheduler = PollScheduler(feed_state)
    config = config_from(settings)

    @app.agent(sa.topic(FEEDS.name), name="register-feeds")
    async def register_feeds(stream: Any) -> Any:
        async for event in stream.events():
            msg = event.message
            fn = partial(register_feed, key=msg.key, partition=msg.partition, table=feed_state)
            await sa.send(await sa.handle(event, fn, counted=False), counted=False)
            yield msg.offset

    async def send_poll(command: FeedPoll) -> None:
        await sa.topic(FEED_POLLS.name).send(
            key=command.url.encode(), value=encode(command), partition=command.partition
        )

    @app.timer(settings.fetcher.scheduler_tick_seconds)  # type: ignore[untyped-decorator]
    async def schedule_polls() -> None:
        actives = app.assignor.assigned_actives()
        tally = await scheduler.tick(lambda p: TP(FEEDS.name, p) in actives, send_poll)
        metrics.FEEDS_TRACKED.set(tally.tracked)
        metrics.FEEDS_FAILING.set(tally.failing)

    async def forget_in_flight(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        scheduler.forget_in_flight()

    app.on_partitions_assigned.connect(forget_in_flight)

    revocations = [0]  # how many times partitions were revoked

    async def count_revocation(*_: Any, **__: Any) -> None:
        revocations[0] += 1

    app.on_partitions_revoked.connect(count_revocation)

    async def poll(raw: bytes | None, *, polled: list[PolledFeed]) -> Outcome:
        seen = revocations[0]
        table = FencedTable(feed_state, lambda: revocations[0] == seen)
        try:
            result = await plan_poll(raw, table=table, client=client, config=config)
        finally:
            scheduler.answered(raw)
        polled.append(result)
        return result.outcome

    @app.agent(sa.topic(FEED_POLLS.name), name="poll-feeds")
    async def poll_feeds(stream: Any) -> Any:
        async for event in stream.events():
            async with sa.busy():  # a graceful stop lets the poll finish
                polled: list[PolledFeed] = []
                outputs = await sa.handle(event, partial(poll, polled=polled), counted=False)
                await sa.send(outputs, counted=False)
                # The entries are on the broker: only now may the state say they were seen.
                if any(out.topic == ENTRIES.name for out in outputs):
                    faults.reached(faults.POLL_SENT)
                for result in polled:
                    result.save()
            yield event.message.offset

    gate = HostGate(
        settings.fetcher.host_min_delay_seconds, max_requests=settings.fetcher.page_concurrency
    )
    robots = (
        RobotsCache(
            client,
            settings.fetcher.user_agent,
            settings.fetcher.robots_cache_seconds,
            max_fetches=settings.fetcher.page_concurrency,
        )
        if settings.fetcher.respect_robots
        else None
    )
    fetch = partial(
        fetch_page_or_feed,
        client=client,
        gate=gate,
        robots=robots,
        partitions=settings.kafka.topic_partitions,
        archive=archive,
    )

    # Entries go into per-host lanes (keyed by their record key, the article host), so
    # a burst of one host's links waits its turns without holding up the other hosts;
    # the gate keeps each host to one request at a time and all to page_concurrency.
    # Acknowledged in the order read, each once its page is on the broker, so a commit
    # never passes an entry whose page is not out; at most page_backlog entries are read
    # and not yet acknowledged (what a crash or rebalance makes the consumer read again).
    @app.agent(sa.topic(ENTRIES.name), name="fetch-pages")
    async def fetch_pages(stream: Any) -> Any:
        manual = stream.noack()
        # Finished out of order, so a stop commits which entries past the commit point
        # are done, and they are skipped after a restart (done_before).
        acks = sa.ordered_acks(manual, skip_done=True)

        async def work(event: Any) -> None:
            generation = acks.generation
            await sa.send(await sa.handle(event, fetch))
            if acks.generation == generation:  # else revoked meanwhile: read again
                await acks.done([event], [])

        lanes: HostLanes[Any] = HostLanes(work)

        async def drop_waiting(*_: Any, **__: Any) -> None:
            # Revoked: the acknowledgements are reset, and what waits is read again.
            lanes.clear()

        app.on_partitions_revoked.connect(drop_waiting)
        # SIGTERM: read no more, finish the pages being fetched; the entries that were
        # waiting in the lanes are read again after a restart.
        sa.on_stopping(lanes.finish)
        try:
            async for event in manual.events():
                generation = acks.generation
                await acks.wait_for_room(settings.fetcher.page_backlog)
                if acks.generation != generation or sa.stopping:
                    continue  # revoked while it waited, or stopping: read again later
                if await sa.done_before(event):
                    await acks.add([event], [])  # its page went out before a stop
                    yield event.message.offset
                    continue
                acks.read(event)
                lanes.submit((event.message.key or b"").decode("utf-8", "replace"), event)
                yield event.message.offset
        finally:
            app.on_partitions_revoked.disconnect(drop_waiting)
            await lanes.close()

    return sa
