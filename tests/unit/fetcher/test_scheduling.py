"""The poll scheduler: due feeds of owned partitions get one command each, resent only
after `resend_s` unanswered, and at once after an answer or a rebalance."""

from __future__ import annotations

from datetime import timedelta

from services.common.models import FeedPoll, encode, utcnow
from services.fetcher.scheduling import PollScheduler
from services.fetcher.state.feedstate import FeedState
from services.fetcher.state.schedule import ScheduledTable


def _table() -> ScheduledTable:
    table = ScheduledTable({})
    now = utcnow()
    feeds = [
        FeedState(url="http://a.example/due", partition=0, next_poll_at=now),
        FeedState(url="http://b.example/later", partition=0, next_poll_at=now + timedelta(hours=1)),
        FeedState(url="http://c.example/other", partition=1, next_poll_at=now),
        FeedState(url="http://d.example/failing", partition=0, next_poll_at=now, error_count=3),
    ]
    for state in feeds:
        table[state.url] = state.model_dump_json()
    return table


async def test_due_feeds_of_owned_partitions_are_sent_once_until_answered() -> None:
    scheduler = PollScheduler(_table())
    sent: list[FeedPoll] = []

    async def send(command: FeedPoll) -> None:
        sent.append(command)

    tally = await scheduler.tick(lambda p: p == 0, send)
    assert sorted(c.url for c in sent) == ["http://a.example/due", "http://d.example/failing"]
    assert all(c.partition == 0 for c in sent)
    assert (tally.tracked, tally.failing) == (3, 1)  # partition 1's feed is not ours

    sent.clear()
    await scheduler.tick(lambda p: p == 0, send)
    assert sent == []  # in flight: not sent again before resend_s

    scheduler.answered(encode(FeedPoll(url="http://a.example/due", partition=0)))
    await scheduler.tick(lambda p: p == 0, send)
    assert [c.url for c in sent] == ["http://a.example/due"]

    sent.clear()
    scheduler.forget_in_flight()  # a rebalance: what was in flight may be lost
    await scheduler.tick(lambda p: p == 0, send)
    assert sorted(c.url for c in sent) == ["http://a.example/due", "http://d.example/failing"]


async def test_an_unanswered_command_is_sent_again_after_resend_s() -> None:
    scheduler = PollScheduler(_table(), resend_s=0.0)
    sent: list[FeedPoll] = []

    async def send(command: FeedPoll) -> None:
        sent.append(command)

    await scheduler.tick(lambda p: p == 1, send)
    await scheduler.tick(lambda p: p == 1, send)
    assert [c.url for c in sent] == ["http://c.example/other"] * 2


def test_an_answer_without_a_record_is_ignored() -> None:
    scheduler = PollScheduler(_table())
    scheduler.in_flight["http://a.example/due"] = 1.0
    scheduler.answered(None)
    assert scheduler.in_flight == {"http://a.example/due": 1.0}
