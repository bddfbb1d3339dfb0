"""The whole pipeline: real broker, seed server and the four services as separate processes."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from services.common.kafka import ensure_topics
from services.common.models import Entry, Page, Trace, encode, utcnow
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topicread import read_topic
from services.common.topics import ALL_TOPICS
from services.common.urls import article_id
from services.devtools import newsroom
from services.devtools.broker import free_port
from services.devtools.stack import SERVICES, Stack, start_stack
from services.devtools.storyboard import StoryBoard
from services.devtools.tail import tail_stories
from services.fetcher.bootstrap import publish_feeds
from services.fetcher.state.registry import load_feeds_file
from tests.conftest import (
    FIRST_PARAGRAPH_START,
    LAST_PARAGRAPH_END,
    SEED_TXT,
    SEEDS,
    validate_record,
)

ORIGINAL_PATH = "/site/newsofwar/post/intense-truce-talks-underway.html"
WAIT_S = 120.0


def read(settings: Settings, topic: str, timeout: float = 3.0) -> list[dict[str, Any]]:
    return asyncio.run(read_topic(settings, topic, timeout=timeout))


def wait_for(
    settings: Settings, topic: str, predicate: Any, stack: Stack, what: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        records = read(settings, topic, timeout=2.0)
        if predicate(records):
            return records
        dead = [n for n, p in stack.procs.items() if not p.alive()]
        assert not dead, f"services died: {dead}; see logs in {stack.run_dir}"
    pytest.fail(f"timed out waiting for {what} on {topic}; logs in {stack.run_dir}")


def newswire(stack: Stack, *args: str) -> str:
    """Run the real CLI as its own process against the stack; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=PROJECT_ROOT,
        env=stack.env(),
        check=True,
        capture_output=True,
        timeout=60,
        text=True,
    )
    return done.stdout


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("run")
    # Only the original site's feed at first; the syndicated copy is added at run time
    # (newswire feeds add), so which article is first is not left to a race.
    feeds = run_dir / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: ${SEEDS_URL}/feeds/newsofwar.xml\n    title: News of War\n")
    env = {
        "NEWSWIRE_FEEDS_FILE": str(feeds),
        # Poll every couple of seconds so the test also sees unchanged feeds re-polled.
        "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "2",
        "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "1",
        # The seed newsroom's pages are all on the seed server's one host: a short
        # politeness delay keeps its 28 pages from taking half a minute.
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.1",
    }
    # Its own broker (unless NEWSWIRE_KAFKA_BOOTSTRAP names one): the exact counts below
    # need topics that no other test has written to.
    st = start_stack(run_dir, extra_env=env)
    asyncio.run(ensure_topics(Settings(kafka_bootstrap=st.bootstrap)))
    try:
        yield st
    finally:
        st.stop()
        for name in (*SERVICES, "seeds"):
            log = Path(run_dir / f"{name}.log")
            if log.exists():
                sys.stderr.write(f"--- tail of {name}.log ---\n{log.read_text()[-3000:]}\n")


def test_seed_article_flows_end_to_end(stack: Stack) -> None:
    kafka_bootstrap = stack.bootstrap
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    original_id = article_id(f"{stack.seeds_url}{ORIGINAL_PATH}")

    # 1. The original arrives once, as new, with clean text and its title and byline as fields.
    stories = wait_for(
        settings, "newswire.stories", lambda rs: len(rs) >= 1, stack, "the first story"
    )
    first = stories[0]["value"]
    assert first["article_id"] == original_id
    assert first["verdict"] == "new" and first["duplicate_of"] is None
    assert first["story_id"] == original_id == stories[0]["key"]
    article = first["article"]
    assert article["title"].startswith("Intense Truce Talks Underway")
    assert article["byline"] == "News of War Staff Writer"
    lines = [ln.strip().lower() for ln in article["text"].splitlines()]
    assert "top of page" not in lines and "bottom of page" not in lines
    assert "news of war staff writer" not in lines
    assert article["paragraphs"][0].startswith(FIRST_PARAGRAPH_START)
    assert article["paragraphs"][-1].endswith(LAST_PARAGRAPH_END)
    assert article["language"] == "en" and article["word_count"] > 500 and article["summary"]
    # The enricher's models ran in the worker process: entities, places and quotes.
    names = {e["text"] for e in article["entities"]}
    assert {"Ismail Haniyeh", "John Kirby", "Hamas", "Egypt"} <= names, names
    assert "EG" in {p.get("country_code") for p in article["places"]}
    assert {"John Kirby", "Joe Biden"} <= {q["speaker"] for q in article["quotes"]}
    assert set(article["trace"]["stages"]) >= {"fetcher", "cleaner", "enricher", "dedup"}

    # 2. The syndicated plain-text copy, added at run time, is a duplicate of it.
    wire_feed = f"{stack.seeds_url}/feeds/wire.xml"
    newswire(stack, "feeds", "add", wire_feed, "--title", "Plain Wire")
    stories = wait_for(
        settings, "newswire.stories", lambda rs: len(rs) >= 2, stack, "the duplicate"
    )
    second = stories[1]["value"]
    assert second["article_id"] == article_id(f"{stack.seeds_url}/000_1f0e606ef3d1bead.txt")
    assert second["verdict"] == "duplicate" and second["duplicate_of"] == original_id
    assert second["story_id"] == original_id
    assert second["article"]["byline"] == "News of War Staff Writer"

    # 3. A poison record on newswire.pages goes to the DLQ; the cleaner handles the next one.
    later = Page(
        article_id=article_id("http://wire.example/later"),
        url="http://wire.example/later",
        final_url="http://wire.example/later",
        status=200,
        content_type="text/plain",
        body=SEED_TXT.read_text().replace("Israel", "Israël"),
        body_bytes=1,
        entry=Entry(
            entry_id="later", feed_url="http://wire.example/feed", link="http://wire.example/later"
        ),
        trace=Trace(fetched_at=utcnow()),
    )

    async def produce() -> None:
        prod = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await prod.start()
        try:
            await prod.send_and_wait("newswire.pages", key=b"poison", value=b"\x00\xff not json {")
            await prod.send_and_wait(
                "newswire.pages", key=later.article_id.encode(), value=encode(later)
            )
        finally:
            await prod.stop()

    asyncio.run(produce())
    dlq = wait_for(
        settings,
        "newswire.dlq",
        lambda rs: any(r["key"] == "poison" for r in rs),
        stack,
        "the poison record",
    )
    poison = next(r["value"] for r in dlq if r["key"] == "poison")
    assert poison["stage"] == "cleaner" and poison["reason"] == "decode"
    assert poison["source_topic"] == "newswire.pages"
    stories = wait_for(
        settings,
        "newswire.stories",
        lambda rs: any(r["value"]["article_id"] == later.article_id for r in rs),
        stack,
        "the record after the poison",
    )
    assert all(p.alive() for p in stack.procs.values())
    # The seed's text again with one letter changed, fetched today: a near copy of the
    # original, found although the original's published date is years old (retention
    # counts from when dedup saw an article, not from its date).
    (after,) = [r["value"] for r in stories if r["value"]["article_id"] == later.article_id]
    assert (after["verdict"], after["duplicate_of"]) == ("duplicate", original_id)
    assert after["match"] == "near" and after["story_id"] == original_id

    # 4. Let the feeds be re-polled a few times: unchanged feeds produce nothing more.
    # Waited for by the fetcher's own count of unchanged polls (304 or the same body),
    # two more for each of the two feeds, rather than for a guessed number of seconds.
    def unchanged_polls() -> float:
        samples = scrape(stack.metrics_url("fetcher"))
        return samples.get("newswire_fetch_not_modified_total", 0) + samples.get(
            "newswire_fetch_unchanged_total", 0
        )

    mark = unchanged_polls()
    deadline = time.monotonic() + WAIT_S
    while unchanged_polls() < mark + 4:
        assert time.monotonic() < deadline, f"feeds not re-polled; logs in {stack.run_dir}"
        assert all(p.alive() for p in stack.procs.values()), f"logs in {stack.run_dir}"
        time.sleep(0.5)
    assert scrape(stack.metrics_url("fetcher"))["newswire_feed_entries_new_total"] == 2
    entries = read(settings, "newswire.entries")
    assert len(entries) == 2, [e["value"]["link"] for e in entries]
    stories = read(settings, "newswire.stories")
    assert [s["value"]["article_id"] for s in stories].count(original_id) == 1
    assert len(stories) == 3

    # The fetcher's per-feed state is readable through the CLI.
    state = json.loads(newswire(stack, "feeds", "show", wire_feed))
    assert state["registered"] is True and state["status"] == "ok"
    assert state["last_status"] in (200, 304) and state["entries_seen"] == 1
    assert state["etag"] and state["next_poll_at"]
    listed = newswire(stack, "feeds", "list").splitlines()
    assert len(listed) == 2 and all(line.startswith("ok") for line in listed), listed

    # 5. Every record on every topic satisfies its contract (except the deliberate poison).
    for spec in ALL_TOPICS:
        for rec in read(settings, spec.name):
            if spec.name == "newswire.pages" and rec["key"] == "poison":
                continue
            if spec.name == "newswire.feeds" and rec["value"] is None:
                continue
            validate_record(spec.name, rec["value"])

    # 6. Every service serves /healthz and /metrics counting what it processed.
    expected_in = {"fetcher": 2, "cleaner": 4, "enricher": 3, "dedup": 3}
    for name in SERVICES:
        base = f"http://127.0.0.1:{stack.procs[name].port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as resp:
            assert json.loads(resp.read())["ready"] is True
        samples = scrape(f"{base}/metrics")
        records_in = samples.get(f'newswire_records_in_total{{stage="{name}"}}', 0)
        assert records_in == expected_in[name], (name, records_in)
        assert samples.get(f'newswire_processing_seconds_count{{stage="{name}"}}', 0) >= records_in
    cleaner = scrape(stack.metrics_url("cleaner"))
    assert cleaner['newswire_records_failed_total{reason="decode",stage="cleaner"}'] == 1
    assert cleaner['newswire_records_out_total{stage="cleaner"}'] == 3
    assert cleaner['newswire_boilerplate_lines_removed_total{reason="scroll_anchor"}'] >= 4
    dedup = scrape(stack.metrics_url("dedup"))
    assert dedup['newswire_dedup_verdicts_total{verdict="duplicate"}'] == 2
    assert dedup['newswire_dedup_verdicts_total{verdict="new"}'] == 1
    assert dedup["newswire_end_to_end_latency_seconds_count"] == 3
    # Consumer lag is measured and falls to zero once everything is committed.
    lag_name = 'newswire_consumer_lag_records{stage="cleaner",topic="newswire.pages"}'
    deadline = time.monotonic() + 60
    while scrape(stack.metrics_url("cleaner")).get(lag_name) != 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert scrape(stack.metrics_url("cleaner")).get(lag_name) == 0
    fetcher = scrape(stack.metrics_url("fetcher"))
    assert fetcher["newswire_fetch_not_modified_total"] >= 1
    assert fetcher["newswire_feeds_tracked"] == 2


def test_newsroom_stories_match_the_ground_truth(stack: Stack) -> None:
    """The seed newsroom's feeds, added at run time: dedup's verdicts and story grouping
    are what seeds/newsroom.yaml says, whichever outlet's copy happens to arrive first."""
    settings = Settings(kafka_bootstrap=stack.bootstrap)
    room = newsroom.load()
    base = stack.seeds_url
    ids = {a.id: article_id(f"{base}/{a.path}") for a in room.articles}
    feed_urls = {f"{base}/{o.feed_path}" for o in room.outlets.values()}
    records = [r for r in load_feeds_file(SEEDS / "feeds.yaml", base) if r.url in feed_urls]
    assert len(records) == len(room.outlets)
    asyncio.run(publish_feeds(settings, records))

    wanted = len(room.articles) + sum(1 for a in room.articles if a.revision is not None)
    ours = set(ids.values())
    stories = wait_for(
        settings,
        "newswire.stories",
        lambda rs: sum(r["value"]["article_id"] in ours for r in rs) >= wanted,
        stack,
        f"{wanted} story records of the newsroom",
    )
    # Topic order: a story's records share its key, so they are in decision order.
    mine = [r["value"] for r in stories if r["value"]["article_id"] in ours]
    assert len(mine) == wanted, "a newsroom article was decided more than once"
    by_article: dict[str, list[dict[str, Any]]] = {}
    for value in mine:
        by_article.setdefault(value["article_id"], []).append(value)
    first = {aid: recs[0] for aid, recs in by_article.items()}
    for article in room.articles:
        value = first[ids[article.id]]
        assert value["article"]["site"] == room.outlets[article.outlet].name, article.id
        assert value["article"]["title"] == article.title

    # The revised article: new, then an update (version 2) of itself in the same story.
    (revised,) = [a for a in room.articles if a.revision is not None]
    assert revised.revision is not None
    versions = by_article[ids[revised.id]]
    assert [(v["verdict"], v["version"]) for v in versions] == [("new", 1), ("update", 2)]
    old, new = versions
    assert new["story_id"] == old["story_id"] and new["match"] == "url"
    assert new["duplicate_of"] == ids[revised.id] and new["size_change"] > 0
    assert newsroom.paragraphs(revised.text)[0] in old["article"]["text"]
    assert newsroom.paragraphs(revised.revision.text)[0] in new["article"]["text"]
    assert all(len(by_article[ids[a.id]]) == 1 for a in room.articles if a is not revised)

    # Syndicated copies: the first to arrive is new, every other one a duplicate of an
    # earlier one, by text hash when an identical text came before, else a near copy.
    for group in room.copy_groups():
        arrived = sorted(group, key=lambda a: mine.index(first[ids[a.id]]))
        assert first[ids[arrived[0].id]]["verdict"] == "new"
        root_story = first[ids[arrived[0].id]]["story_id"]
        for n, article in enumerate(arrived[1:], start=1):
            value = first[ids[article.id]]
            earlier = arrived[:n]
            assert value["verdict"] == "duplicate", (article.id, value["verdict"])
            assert value["duplicate_of"] in {ids[a.id] for a in earlier}, article.id
            assert value["story_id"] == root_story
            same_text = [a for a in earlier if bool(a.near_copy_of) == bool(article.near_copy_of)]
            want = "hash" if same_text and not article.near_copy_of else "near"
            assert value["match"] == want, (article.id, value["match"], want)

    # Stories: one story id per event, a different one for each event and article.
    copies = {a.id for g in room.copy_groups() for a in g}
    story_ids: dict[str, set[str]] = {}
    for story, articles in room.stories().items():
        story_ids[story] = {first[ids[a.id]]["story_id"] for a in articles}
        assert len(story_ids[story]) == 1, (story, story_ids[story])
        if len(articles) > 1 and not copies & {a.id for a in articles}:
            # An event: each outlet's own text, so each is new, and they are one story.
            assert [first[ids[a.id]]["verdict"] for a in articles] == ["new"] * len(articles)
    distinct = {next(iter(v)) for v in story_ids.values()}
    assert len(distinct) == len(story_ids), "two stories of the ground truth were merged"
    original_id = article_id(f"{base}{ORIGINAL_PATH}")
    assert original_id not in distinct

    # What `newswire run` prints groups them the same way: one story per event with each
    # outlet's article and verdict.
    board = StoryBoard()
    for value in mine:
        board.add(value)
    shown = {s.story_id: s for s in board.stories.values()}
    for story, articles in room.stories().items():
        (sid,) = story_ids[story]
        outlets = [room.outlets[a.outlet].name for a in articles]
        assert sorted(e.outlet for e in shown[sid].entries if e.version == 1) == sorted(outlets)
    text = "\n".join(board.render())
    assert f"{len(room.stories())} stories" in text
    for verdict in ("new", "duplicate (same text)", "duplicate (near copy)", "update v2"):
        assert verdict in text, verdict

    # The same printout from the topic, as `newswire run` reads it: the newsroom's
    # stories and the seed article's (its copies included) after the first quiet spell.
    out = io.StringIO()
    tail_stories(settings, quiet_seconds=1.0, out=out, timeout=WAIT_S, once=True)
    printed = out.getvalue().splitlines()
    header = next(n for n, line in enumerate(printed) if line.startswith("== "))
    assert header == len(stories) + 1, "a line per story record, then the stories"
    assert printed[header].startswith(
        f"== {len(room.stories()) + 1} stories from {len(stories)} story records"
    )
    for story, articles in room.stories().items():
        if len(articles) > 1:
            names = {room.outlets[a.outlet].name for a in articles}
            assert any(all(n in line for n in names) for line in printed), (story, names)


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's Prometheus scraping the running services every second, with the alert
    rules loaded; yields its base URL."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (make test installs Debian's package)"
    work = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    targets = {name: f"127.0.0.1:{stack.procs[name].port}" for name in SERVICES}
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {"job_name": f"newswire-{name}", "static_configs": [{"targets": [target]}]}
            for name, target in targets.items()
        ],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("wb"),
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def promql(base: str, query: str) -> list[dict[str, Any]] | None:
    """The instant query's result, or None while Prometheus does not answer."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.loads(resp.read())
    except OSError:
        return None
    assert body["status"] == "success", (query, body)
    return list(body["data"]["result"])


def scalar(base: str, query: str) -> float:
    """A one-series query's value (0 when there is no series yet)."""
    result = promql(base, query)
    return float(result[0]["value"][1]) if result else 0.0


def test_a_real_prometheus_scrapes_every_stage(stack: Stack, prometheus: str) -> None:
    """Debian's Prometheus scrapes the running services; its HTTP API gives per-stage throughput."""
    stages: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and set(stages) != set(SERVICES):
        time.sleep(1)
        result = promql(prometheus, "sum by (stage) (newswire_records_out_total)") or []
        stages = {r["metric"]["stage"]: float(r["value"][1]) for r in result}
    assert set(stages) == set(SERVICES), stages
    assert all(value > 0 for value in stages.values()), stages
    with urllib.request.urlopen(f"{prometheus}/api/v1/targets", timeout=5) as resp:
        active = json.loads(resp.read())["data"]["activeTargets"]
    assert {t["labels"]["job"] for t in active if t["health"] == "up"} == {
        f"newswire-{name}" for name in SERVICES
    }


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the Grafana dashboard."""
    board = json.loads((PROJECT_ROOT / "deploy/grafana/dashboards/newswire.json").read_text())
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            found.extend((panel["title"], t["expr"]) for t in panel.get("targets", []))
            walk(panel.get("panels", []))

    walk(board["panels"])
    # Grafana's own variable: at least four scrape intervals, as Grafana makes it.
    return [(title, expr.replace("$__rate_interval", "1m")) for title, expr in found]


def split_top(expr: str, words: tuple[str, ...]) -> list[str]:
    """`expr` cut at the binary operators `words` outside parentheses and brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        depth += expr[i] in "([{"
        depth -= expr[i] in ")]}"
        word = next((w for w in words if depth == 0 and expr.startswith(f" {w} ", i)), None)
        if word is None:
            i += 1
        else:
            parts.append(expr[start:i])
            i = start = i + len(word) + 2
    parts.append(expr[start:])
    return [p.strip() for p in parts if p.strip()]


def alert_values(expr: str) -> list[str]:
    """What an alert compares: each side of its `and`s with the final threshold cut off
    (`x > 5` fires only when x is there and above 5; in a healthy run x must be there)."""
    flat = " ".join(expr.split())
    threshold = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*-?[0-9.]+(e-?[0-9]+)?$")
    return [threshold.sub("", part) for part in split_top(flat, ("and", "or", "unless"))]


def test_every_dashboard_panel_and_alert_returns_series(
    stack: Stack, prometheus: str, tmp_path: Path
) -> None:
    """Issue 17 item 5: each Grafana panel query and each alert's values evaluated against
    the Prometheus that scrapes this pipeline return series, not only parse. Failures
    are made too (a feed that answers 404, one on a closed port, a feed whose article
    answers 404), so the error panels and alerts have data as well."""
    site = tmp_path / "broken"
    site.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (site / "feed.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Broken</title>"
        f"<link>{base}/</link><description>d</description>"
        f"<item><title>Gone</title><link>{base}/gone.html</link><guid>{base}/gone</guid>"
        "</item></channel></rss>"
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for url in (f"{base}/feed.xml", f"{base}/missing.xml", "http://127.0.0.1:9/feed.xml"):
            newswire(stack, "feeds", "add", url, "--title", "Broken")
        # Wait until the failures are scraped: the page's 404 is dead-lettered, the
        # missing feed and the closed port count as poll errors.
        wanted = (
            'sum(newswire_dlq_records_total{stage="fetcher"})',
            "sum(newswire_feed_poll_errors_total)",
            'sum(newswire_fetch_requests_total{status_class="error"})',
        )
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not all(scalar(prometheus, q) for q in wanted):
            time.sleep(1)
        # Two more scrapes and a minute of data for rate(): 1m windows need two samples.
        time.sleep(5)
        empty = []
        for title, query in dashboard_queries():
            if not promql(prometheus, query):
                empty.append(f"panel {title!r}: {query}")
        rules = yaml.safe_load((PROJECT_ROOT / "deploy/prometheus/alerts.yml").read_text())
        alerts = [r for group in rules["groups"] for r in group["rules"] if "alert" in r]
        assert alerts
        for rule in alerts:
            for value in alert_values(rule["expr"]):
                if not promql(prometheus, value):
                    empty.append(f"alert {rule['alert']}: {value}")
        assert not empty, "no series for:\n" + "\n".join(empty)
    finally:
        server.terminate()
        server.wait(timeout=10)
        for url in (f"{base}/feed.xml", f"{base}/missing.xml", "http://127.0.0.1:9/feed.xml"):
            newswire(stack, "feeds", "remove", url)


def test_metrics_named_by_alerts_and_dashboards_are_exported(stack: Stack) -> None:
    """Nothing names a metric that does not exist; every exported metric has HELP text."""
    exported: set[str] = set()
    helps: dict[str, str] = {}
    for name in SERVICES:
        with urllib.request.urlopen(stack.metrics_url(name), timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("# HELP "):
                    _, _, metric, text = line.split(" ", 3)
                    helps[metric] = text
                    # A labelled metric with no samples yet is still exported (HELP/TYPE).
                    exported.add(metric)
                elif line and not line.startswith("#"):
                    exported.add(line.split("{")[0].split(" ")[0])
    newswire = {m for m in exported if m.startswith("newswire_")}
    assert newswire, "no newswire metrics exported"
    types = {}
    for name in SERVICES:
        with urllib.request.urlopen(stack.metrics_url(name), timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("# TYPE newswire_"):
                    _, _, family, kind = line.split(" ")
                    types[family] = kind
    for family, text in helps.items():
        if family.startswith("newswire_"):
            assert text.strip(), f"{family} has no HELP text"
    # Names carry their unit where they measure one: histograms time in seconds, counters
    # end in _total; gauges are counts of things (feeds, records) or a 0/1 state.
    for family, kind in types.items():
        if kind == "histogram":
            assert family.endswith(("_seconds", "_ratio")), family
        if kind == "counter":
            assert family.endswith("_total"), family
        if kind == "gauge":
            assert family.endswith(
                (
                    "_records",
                    "_tracked",
                    "_failing",
                    "_ready",
                    "ready",
                    "_entries",
                    "_stories",
                    "_tasks",
                )
            ), family
    named: set[str] = set()
    for path in (PROJECT_ROOT / "deploy").rglob("*"):
        if path.suffix in (".yml", ".yaml", ".json", ".tpl") and "alerts_test" not in path.name:
            named |= set(re.findall(r"\bnewswire_[a-z0-9_]+", path.read_text()))
    # A name used in a query may be the family (histograms) or a sample name.
    missing = sorted(
        n
        for n in named
        if n not in exported
        and not any(n + suffix in exported for suffix in ("_bucket", "_count", "_sum", "_total"))
    )
    assert named, "no deploy file names a newswire metric"
    assert not missing, f"named but not exported: {missing}"


def test_sigterm_stops_every_service_cleanly(stack: Stack) -> None:
    for name in SERVICES:
        assert stack.stop_service(name, timeout=60) == 0, f"{name} did not exit 0 on SIGTERM"
