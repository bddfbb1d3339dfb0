"""Chaos run: the same corpus through the four services twice, undisturbed and under fire.

    python -m services.devtools.chaos --datasets ../shared/datasets [--pages N] [--seed S]
        [--guarantee exactly_once] [--sigterm] [--out results/chaos.json]

A loopback web of ~20 hosts serves >1,000 distinct real pages from the datasets plus
~100 syndicated copies (ground truth: duplicates of their originals), each host with an
RSS feed. Run 1 starts a fresh broker and the services and lets everything through.
Run 2 (fresh broker, same site) SIGKILLs each service at >= 5 seeded moments (chosen as
shares of the service's own progress, so the schedule is reproducible at any speed) and
restarts it, pauses the broker (SIGSTOP) for 30 s and later SIGKILLs it and starts it
again on its data; with `--sigterm` each service gets one SIGTERM instead. A run ends
when every entry reached newswire.stories or newswire.dlq and no group has lag.

The scoring compares newswire.stories with the ground truth and with run 1. The last
line of stdout is one JSON object: lost, extra_story_records,
verdict_changes_on_redelivery, copies_missed, verdicts_differing_from_undisturbed and
the rest of the figures, among them decisions_unlike_engine_in_sequence_order: the
articles whose decision differs from the one-process engine's over the very sequence the
workers decided (arrival order can differ between runs; that must not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.kafka import ensure_topics
from services.common.models import Enriched
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topicread import read_all
from services.dedup.config import config_from
from services.dedup.engine import Deduper
from services.dedup.pipeline import arrival, item_of
from services.devtools import corpus, harness
from services.devtools.broker import start_broker
from services.devtools.corpus import Copy, GroundTruth
from services.devtools.harness import StoryRecord
from services.devtools.stack import SERVICES, Stack

log = logging.getLogger("chaos")

SEED = 20261113
KILLS_PER_SERVICE = 5
BROKER_PAUSE_S = 30.0
# The output topic whose article count is each target's progress.
PROGRESS_TOPIC = {
    "fetcher": harness.PAGES,
    "cleaner": harness.ARTICLES,
    "enricher": harness.ENRICHED,
    "dedup": harness.STORIES,
    "broker": harness.STORIES,
}
EPOCH = datetime.min.replace(tzinfo=UTC)


# ---------------------------------------------------------------- scoring (pure)


def first_decisions(stories: Iterable[StoryRecord]) -> dict[str, StoryRecord]:
    """Each article's first story record: earliest decided_at, then read order."""
    out: dict[str, StoryRecord] = {}
    for rec in sorted(stories, key=lambda r: (r.decided_at or EPOCH, r.partition, r.offset)):
        out.setdefault(rec.article_id, rec)
    return out


def extra_story_records(stories: Iterable[StoryRecord], ids: set[str]) -> int:
    counts = Counter(r.article_id for r in stories if r.article_id in ids)
    return sum(n - 1 for n in counts.values())


def verdict_changes(stories: Iterable[StoryRecord], ids: set[str]) -> list[str]:
    """Article ids whose records disagree on verdict or story id."""
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for rec in stories:
        if rec.article_id in ids:
            seen[rec.article_id].add((rec.verdict, rec.story_id))
    return sorted(a for a, decisions in seen.items() if len(decisions) > 1)


def copy_caught(copy: Copy, first: dict[str, StoryRecord]) -> bool:
    """A copy pair is caught when one of the two is a duplicate of the other, or a
    duplicate in the same story (whichever of them arrived first is the original)."""
    a, b = first[copy.copy], first[copy.original]
    for dup, other in ((a, b), (b, a)):
        if dup.verdict == "duplicate" and (
            dup.duplicate_of == other.article_id or dup.story_id == other.story_id
        ):
            return True
    return False


def copies_missed(copies: list[Copy], first: dict[str, StoryRecord]) -> tuple[dict[str, int], int]:
    """Missed copies by kind, and pairs not scored (a member never decided)."""
    missed: Counter[str] = Counter({"exact_copy": 0, "framed_copy": 0})
    undecided = 0
    for copy in copies:
        if copy.copy not in first or copy.original not in first:
            undecided += 1
        elif not copy_caught(copy, first):
            missed[copy.kind] += 1
    return dict(missed), undecided


def groups(first: dict[str, StoryRecord]) -> dict[str, frozenset[str]]:
    """Each article's story as the set of articles sharing its first story id."""
    members: dict[str, set[str]] = defaultdict(set)
    for aid, rec in first.items():
        members[rec.story_id].add(aid)
    frozen = {sid: frozenset(m) for sid, m in members.items()}
    return {aid: frozen[rec.story_id] for aid, rec in first.items()}


def differing(
    first: dict[str, StoryRecord], baseline: dict[str, StoryRecord]
) -> tuple[list[str], int, int]:
    """Articles decided in both runs whose first verdict or story grouping differs; also
    how many differ by verdict and how many by grouping."""
    common = set(first) & set(baseline)
    ours = groups({a: first[a] for a in common})
    theirs = groups({a: baseline[a] for a in common})
    by_verdict = {a for a in common if first[a].verdict != baseline[a].verdict}
    by_group = {a for a in common if ours[a] != theirs[a]}
    return sorted(by_verdict | by_group), len(by_verdict), len(by_group)


def role_swaps(
    copies: list[Copy], first: dict[str, StoryRecord], baseline: dict[str, StoryRecord]
) -> int:
    """Copy pairs caught in both runs whose members swapped roles (the copy arrived
    first in one run): two differing verdicts that are no error."""
    swaps = 0
    for copy in copies:
        pair = (copy.copy, copy.original)
        if not all(a in first and a in baseline for a in pair):
            continue
        if copy_caught(copy, first) and copy_caught(copy, baseline):
            swaps += first[copy.copy].verdict != baseline[copy.copy].verdict
    return swaps


def score(
    stories: list[StoryRecord],
    dlq_ids: set[str],
    truth_ids: set[str],
    copies: list[Copy],
    baseline: list[StoryRecord] | None = None,
    sequenced: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    first = {a: r for a, r in first_decisions(stories).items() if a in truth_ids}
    lost = sorted(truth_ids - set(first) - dlq_ids)
    missed, undecided = copies_missed(copies, first)
    changes = verdict_changes(stories, truth_ids)
    out: dict[str, Any] = {
        "lost": len(lost),
        "extra_story_records": extra_story_records(stories, truth_ids),
        "verdict_changes_on_redelivery": len(changes),
        "copies_missed": sum(missed.values()),
        "copies_missed_by_kind": missed,
        "copies_not_scored": undecided,
        "articles_with_extra_records": sum(
            1
            for n in Counter(r.article_id for r in stories if r.article_id in truth_ids).values()
            if n > 1
        ),
        "decided": len(first),
        "dead_lettered": len(truth_ids & dlq_ids - set(first)),
        "verdicts": dict(Counter(r.verdict for r in first.values())),
        "examples": {"lost": lost[:10], "verdict_changes": changes[:10]},
    }
    if sequenced is not None:
        unlike = unlike_the_engine(sequenced, first, Settings())
        out["decisions_unlike_engine_in_sequence_order"] = len(unlike)
        out["examples"]["unlike_engine"] = unlike[:10]
    if baseline is not None:
        base_first = {a: r for a, r in first_decisions(baseline).items() if a in truth_ids}
        diff, by_verdict, by_group = differing(first, base_first)
        out["verdicts_differing_from_undisturbed"] = len(diff)
        out["differing_copy_role_swaps"] = role_swaps(copies, first, base_first)
        out["differing_by_verdict"] = by_verdict
        out["differing_by_grouping"] = by_group
        out["examples"]["differing"] = diff[:10]
    return out


def unlike_the_engine(
    sequenced: list[dict[str, Any]], first: dict[str, StoryRecord], settings: Settings
) -> list[str]:
    """Articles whose first story record is not what `newswire cluster`'s engine decides
    over the same decision sequences in the order newswire.dedup-sequence holds them
    (one engine per partition, every record, re-sequenced ones included).

    Arrival order may differ between two runs (which copy came first, a resent page), so
    a run can differ from another and both be right; given its own sequence, a run's
    decisions are fixed, and any disagreement is the workers' error."""
    engines: dict[int, Deduper] = {}
    decided: dict[str, tuple[str, str | None, str]] = {}
    dedup_config = config_from(settings)
    for rec in sorted(sequenced, key=lambda r: (r["partition"], r["offset"])):
        value = rec["value"]
        if not isinstance(value, dict) or "article" not in value:
            continue
        article = Enriched.model_validate(value["article"])
        engine = engines.setdefault(rec["partition"], Deduper(config=dedup_config))
        result = engine.process(item_of(article), now=arrival(article))
        decided.setdefault(article.id, (result.verdict, result.duplicate_of, result.story_id))
    return sorted(
        a
        for a, rec in first.items()
        if a in decided and decided[a] != (rec.verdict, rec.duplicate_of, rec.story_id)
    )


def dead_lettered_only(
    errors: dict[str, str], stories: list[StoryRecord], baseline: list[StoryRecord]
) -> dict[str, str]:
    """The dead letters (article id -> error) of articles never decided in this run but
    decided in the baseline: the page could be had, the disturbance cost it."""
    here, there = first_decisions(stories), first_decisions(baseline)
    return {a: e for a, e in errors.items() if a in there and a not in here}


def resent(counts: dict[str, Counter[str]], ids: set[str]) -> dict[str, int]:
    """Records beyond one per article on each topic: what was sent again."""
    return {
        topic.removeprefix("newswire."): sum(n - 1 for a, n in c.items() if a in ids and n > 1)
        for topic, c in counts.items()
        if topic != harness.DLQ
    }


# ---------------------------------------------------------------- the disturbance plan


@dataclass
class Event:
    """Something done to `target` once its progress reaches `at` (a share of the corpus)."""

    kind: str  # kill | term | pause | broker_kill
    target: str
    at: float
    min_up_s: float
    done_at: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def plan(seed: int, *, sigterm: bool, kills: int = KILLS_PER_SERVICE) -> list[Event]:
    """The seeded schedule: reproducible whatever the machine's speed."""
    rng = random.Random(seed)
    events: list[Event] = []
    for service in SERVICES:
        if sigterm:
            events.append(Event("term", service, rng.uniform(0.2, 0.6), rng.uniform(3, 10)))
            continue
        for at in sorted(rng.uniform(0.03, 0.8) for _ in range(kills)):
            events.append(Event("kill", service, at, rng.uniform(3, 12)))
    if not sigterm:
        events.append(Event("pause", "broker", rng.uniform(0.15, 0.35), 0.0))
        events.append(Event("broker_kill", "broker", rng.uniform(0.5, 0.7), 0.0))
    return sorted(events, key=lambda e: e.at)


# ---------------------------------------------------------------- one run


@dataclass
class RunConfig:
    run_dir: Path
    feeds_file: Path
    truth: GroundTruth
    guarantee: str
    host_delay: float
    session_timeout: float
    timeout: float
    events: list[Event]
    pause_s: float = BROKER_PAUSE_S


# Services that acknowledge records themselves refuse exactly_once (services.common.runtime's
# EXACTLY_ONCE_NOACK); under --guarantee exactly_once they run at-least-once, dedup
# sending each story record once by its own means (dedup/sent.py).
AT_LEAST_ONCE_ONLY = ("fetcher", "dedup")


def service_env(cfg: RunConfig) -> dict[str, str]:
    return {
        "NEWSWIRE_FEEDS_FILE": str(cfg.feeds_file),
        "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": str(cfg.host_delay),
        "NEWSWIRE_PROCESSING_GUARANTEE": cfg.guarantee,
        "NEWSWIRE_KAFKA_SESSION_TIMEOUT_SECONDS": str(cfg.session_timeout),
        "NEWSWIRE_DATA_DIR": str(cfg.run_dir / "data"),
    }


class Runner:
    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.env = service_env(cfg)
        self.started_at: dict[str, float] = {}
        self.restarts: Counter[str] = Counter()
        self.unexpected: list[dict[str, Any]] = []
        self.kills: Counter[str] = Counter()
        self.terms: list[dict[str, Any]] = []
        self.broker_events: list[dict[str, Any]] = []

    def start(self, stack: Stack, name: str) -> None:
        env = self.env
        if name in AT_LEAST_ONCE_ONLY:
            env = {**env, "NEWSWIRE_PROCESSING_GUARANTEE": "at_least_once"}
        stack.start_service(name, env)
        self.started_at[name] = time.monotonic()

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        broker = start_broker()
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        asyncio.run(ensure_topics(settings))
        stack = Stack(broker.bootstrap, "http://127.0.0.1:9", cfg.run_dir, broker=broker)
        ids = set(cfg.truth.ids)
        watch = harness.TopicWatch(
            settings, ids, read_committed=cfg.guarantee == "exactly_once"
        ).start()
        lag: dict[str, int] = {}
        sequenced: list[dict[str, Any]] = []
        finished = False
        try:
            for name in SERVICES:
                self.start(stack, name)
            deadline = t0 + cfg.timeout
            last_lag_check = last_note = 0.0
            while time.monotonic() < deadline:
                self._revive(stack)
                self._disturb(stack, watch, len(ids))
                done = watch.done_ids() & ids
                if time.monotonic() - last_note > 30:
                    last_note = time.monotonic()
                    log.info(
                        "%d/%d out; pages %d, articles %d, enriched %d",
                        len(done),
                        len(ids),
                        len(watch.ids(harness.PAGES)),
                        len(watch.ids(harness.ARTICLES)),
                        len(watch.ids(harness.ENRICHED)),
                    )
                if len(done) == len(ids) and time.monotonic() - last_lag_check > 5:
                    checked = time.monotonic()
                    last_lag_check = checked
                    try:
                        lag = asyncio.run(
                            harness.group_lag(
                                settings, marker_slack=cfg.guarantee == "exactly_once"
                            )
                        )
                    except Exception as exc:  # broker busy: ask again later
                        log.info("lag not read: %r", exc)
                        continue
                    if not any(lag.values()) and self._wait_caught_up(watch, checked):
                        finished = True
                        break
                time.sleep(0.5)
            ingest_s = time.monotonic() - t0
            exits = self._stop_all(stack)
            self._wait_caught_up(watch, time.monotonic())
            # The decision sequences as the workers held them, for the engine to re-decide.
            sequenced = asyncio.run(read_all(settings, "newswire.dedup-sequence"))
        finally:
            watch.stop()
            stack.stop()
        dlq_ids = {a for a, _, _ in watch.dlq if a}
        return {
            "finished": finished,
            "seconds": round(ingest_s, 1),
            "stories": watch.stories,
            "sequenced": sequenced,
            "dlq_ids": dlq_ids,
            "dlq_reasons": dict(Counter(f"{s}:{r}" for a, s, r in watch.dlq if a in ids)),
            "dlq_errors": {a: e for a, e in watch.dlq_errors.items() if a in ids},
            "counts": watch.counts,
            "lag": lag,
            "kills": dict(self.kills),
            "terms": self.terms,
            "broker_events": self.broker_events,
            "unexpected_exits": self.unexpected,
            "final_stop_exit_codes": exits,
            "error_log_lines": {
                name: harness.error_lines(cfg.run_dir / f"{name}.log") for name in SERVICES
            },
            "events_not_reached": [
                f"{e.kind}:{e.target}@{e.at:.2f}" for e in cfg.events if e.done_at is None
            ],
        }

    def _wait_caught_up(self, watch: harness.TopicWatch, since: float) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if watch.caught_up_since(since):
                return True
            time.sleep(0.5)
        return False

    def _revive(self, stack: Stack) -> None:
        """A service that died on its own is counted and started again."""
        for name in SERVICES:
            proc = stack.procs.get(name)
            if proc is not None and not proc.alive():
                self.unexpected.append(
                    {"service": name, "code": proc.popen.returncode, "at_s": self._elapsed()}
                )
                stack.procs.pop(name)
                if sum(1 for u in self.unexpected if u["service"] == name) <= 20:
                    self.start(stack, name)

    def _elapsed(self) -> float:
        return round(time.monotonic() - min(self.started_at.values(), default=time.monotonic()), 1)

    def _disturb(self, stack: Stack, watch: harness.TopicWatch, n: int) -> None:
        broker = stack.broker
        assert broker is not None, "the harness's own broker"
        for event in self.cfg.events:
            if event.done_at is not None:
                continue
            progress = len(watch.ids(PROGRESS_TOPIC[event.target])) / max(1, n)
            if progress < event.at:
                continue
            if event.target in SERVICES:
                up = time.monotonic() - self.started_at.get(event.target, 0.0)
                if event.target not in stack.procs or up < event.min_up_s:
                    continue
                self._hit(stack, event)
            elif event.kind == "pause":
                os.kill(broker.pid, signal.SIGSTOP)
                time.sleep(self.cfg.pause_s)
                os.kill(broker.pid, signal.SIGCONT)
                self.broker_events.append({"pause_s": self.cfg.pause_s, "at_s": self._elapsed()})
            else:
                began = time.monotonic()
                stack.broker = harness.kill_and_restart_broker(broker)
                self.broker_events.append(
                    {
                        "killed_and_restarted_s": round(time.monotonic() - began, 1),
                        "at_s": self._elapsed(),
                    }
                )
            event.done_at = time.monotonic()
            event.detail["progress"] = round(progress, 3)
            return  # one event per tick: the next sees the state this one left

    def _hit(self, stack: Stack, event: Event) -> None:
        name = event.target
        began = time.monotonic()
        if event.kind == "kill":
            stack.stop_service(name, signal.SIGKILL, timeout=10)
            self.kills[name] += 1
        else:
            code = stack.stop_service(name, signal.SIGTERM, timeout=60)
            self.terms.append(
                {"service": name, "exit_code": code, "seconds": round(time.monotonic() - began, 2)}
            )
        self.start(stack, name)

    def _stop_all(self, stack: Stack) -> dict[str, int | None]:
        return {name: stack.stop_service(name, signal.SIGTERM, timeout=60) for name in SERVICES}


# ---------------------------------------------------------------- main


def summarize(run: dict[str, Any], truth: GroundTruth) -> dict[str, Any]:
    ids = set(truth.ids)
    return {
        k: v for k, v in run.items() if k not in ("stories", "sequenced", "dlq_ids", "counts")
    } | {
        "resent_records": resent(run["counts"], ids),
        "pages_fetched_twice": sum(
            1 for a, n in run["counts"][harness.PAGES].items() if a in ids and n > 1
        ),
        "entries_emitted_twice": sum(
            1 for a, n in run["counts"][harness.ENTRIES].items() if a in ids and n > 1
        ),
        # How far each lost article got: where the pipeline dropped or stalled it.
        "lost_reached": {
            aid: [t.removeprefix("newswire.") for t, c in run["counts"].items() if c.get(aid)]
            for aid in sorted(ids - set(run["counts"][harness.STORIES]) - run["dlq_ids"])
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=PROJECT_ROOT.parent / "shared/datasets")
    parser.add_argument("--out", type=Path, default=Path("results/chaos.json"))
    parser.add_argument("--pages", type=int, default=None, help="originals (default: all)")
    parser.add_argument("--copies", type=int, default=None)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--kills", type=int, default=KILLS_PER_SERVICE)
    parser.add_argument(
        "--guarantee", choices=("at_least_once", "exactly_once"), default="at_least_once"
    )
    parser.add_argument("--sigterm", action="store_true", help="one SIGTERM per service")
    parser.add_argument("--no-broker-events", action="store_true")
    parser.add_argument("--pause-seconds", type=float, default=BROKER_PAUSE_S)
    parser.add_argument("--host-delay", type=float, default=0.1)
    parser.add_argument("--session-timeout", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=3 * 3600.0, help="per run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s chaos %(message)s")
    # The watch's client reconnects through the broker's outages by design; its
    # connection errors would bury the harness's own lines.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    docs = corpus.load_docs(args.datasets)
    pages = corpus.build_site(
        docs, seed=args.seed, pages=args.pages, copies=args.copies, hosts=args.hosts
    )
    hosts = sorted({p.host for p in pages})
    port = corpus.free_common_port(hosts)
    truth = corpus.ground_truth(pages, port)
    work = Path(tempfile.mkdtemp(prefix="newswire-chaos-"))
    feeds_file = work / "feeds.yaml"
    feeds_file.write_text(corpus.feeds_yaml(hosts, port))
    site = corpus.SiteServer(hosts, port, corpus.static_resolver(pages, port)).start()
    log.info(
        "site: %d pages (%d copies) on %d hosts, port %d; work dir %s",
        len(pages),
        len(truth.copies),
        len(hosts),
        port,
        work,
    )
    head = harness.head_commit()
    runs: dict[str, dict[str, Any]] = {}
    try:
        for name, events in (
            ("undisturbed", []),
            ("disturbed", plan(args.seed, sigterm=args.sigterm, kills=args.kills)),
        ):
            if args.no_broker_events:
                events = [e for e in events if e.target != "broker"]
            site.requests.clear()
            cfg = RunConfig(
                work / name,
                feeds_file,
                truth,
                args.guarantee,
                args.host_delay,
                args.session_timeout,
                args.timeout,
                events,
                args.pause_seconds,
            )
            log.info("run %s: %d events", name, len(events))
            runs[name] = Runner(cfg).run()
            runs[name]["pages_requested_twice"] = sum(
                1 for n in site.page_requests().values() if n > 1
            )
            log.info(
                "run %s finished=%s in %.0f s", name, runs[name]["finished"], runs[name]["seconds"]
            )
    finally:
        site.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log.info("service logs kept in %s", work)
    ids = set(truth.ids)
    calm, hit = runs["undisturbed"], runs["disturbed"]
    calm_score = score(
        calm["stories"], calm["dlq_ids"], ids, truth.copies, sequenced=calm["sequenced"]
    )
    hit_score = score(
        hit["stories"], hit["dlq_ids"], ids, truth.copies, calm["stories"], hit["sequenced"]
    )
    dead_here = dead_lettered_only(hit["dlq_errors"], hit["stories"], calm["stories"])
    hit_score["dead_lettered_only_disturbed"] = len(dead_here)
    hit_score["examples"]["dead_lettered_only_disturbed"] = dict(sorted(dead_here.items())[:10])
    headline = {
        "lost": hit_score["lost"],
        "extra_story_records": hit_score["extra_story_records"],
        "verdict_changes_on_redelivery": hit_score["verdict_changes_on_redelivery"],
        "copies_missed": hit_score["copies_missed"],
        "verdicts_differing_from_undisturbed": hit_score["verdicts_differing_from_undisturbed"],
        "decisions_unlike_engine_in_sequence_order": hit_score[
            "decisions_unlike_engine_in_sequence_order"
        ],
        "decisions_unlike_engine_undisturbed": calm_score[
            "decisions_unlike_engine_in_sequence_order"
        ],
        "dead_lettered_only_disturbed": len(dead_here),
        "copies_missed_undisturbed": calm_score["copies_missed"],
        "copies_missed_exact_undisturbed": calm_score["copies_missed_by_kind"]["exact_copy"],
        "lost_undisturbed": calm_score["lost"],
        "extra_story_records_undisturbed": calm_score["extra_story_records"],
        "pages_fetched_twice": summarize(hit, truth)["pages_fetched_twice"],
        "resent_records": summarize(hit, truth)["resent_records"],
        "kills": hit["kills"],
        "sigterms": hit["terms"],
        "broker_events": len(hit["broker_events"]),
        "both_finished": calm["finished"] and hit["finished"],
        "seconds": {"undisturbed": calm["seconds"], "disturbed": hit["seconds"]},
        "mode": "sigterm" if args.sigterm else "kill",
        "guarantee": args.guarantee,
        "entries": len(ids),
        "copies": len(truth.copies),
        "commit": head,
    }
    report = {
        "headline": headline,
        "corpus": {
            "pages": len(pages),
            "hosts": len(hosts),
            "kinds": dict(Counter(p.kind for p in pages)),
            "dated_over_30_days_before_newest": sum(
                1 for p in pages if (corpus.NEWEST - p.published).days > 30
            ),
            "seed": args.seed,
        },
        "undisturbed": calm_score | summarize(calm, truth),
        "disturbed": hit_score | summarize(hit, truth),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(headline))
    return 0 if headline["both_finished"] and headline["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
