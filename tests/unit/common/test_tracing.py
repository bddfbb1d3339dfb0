"""Traces through the shared stage code: W3C context in Kafka headers in and out, the
span of each record's handling with what it came to, and nothing at all when off."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from services.common import tracing
from services.common.errors import ConfigError, FetchError
from services.common.logging import JsonFormatter
from services.common.settings import Settings
from services.common.stage import Output, Source, Stage
from services.common.topics import DLQ, STORIES

ARTICLE = "0123456789abcdef"


@pytest.fixture(autouse=True)
def no_tracing_left() -> Iterator[None]:
    tracing.shutdown()
    yield
    tracing.shutdown()


@pytest.fixture
def traced(tmp_path: Path) -> Path:
    """Tracing on for this process, spans written to a file (no OTLP, no console)."""
    path = tmp_path / "spans.jsonl"
    on = tracing.configure(
        "cleaner", Settings(traces_file=str(path)), env={"OTEL_TRACES_EXPORTER": "none"}
    )
    assert on and tracing.enabled()
    return path


def spans(path: Path) -> list[dict[str, Any]]:
    tracing.flush()
    return [json.loads(line) for line in path.read_text().splitlines()]


def header(headers: Iterable[tuple[str, bytes]], name: str) -> str:
    found = [v.decode() for k, v in headers if k == name]
    assert len(found) == 1, headers
    return found[0]


def parent_headers(article: str | None = None) -> tuple[tuple[str, bytes], ...]:
    """What an upstream stage's output carries: a trace begun for `article`."""
    return tracing.start_trace("feed entry", article or ARTICLE)


@pytest.mark.parametrize(
    ("env", "traces_file", "expected"),
    [
        ({}, "", []),  # off by default
        ({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}, "", []),
        ({"OTEL_TRACES_EXPORTER": "none"}, "", []),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "", ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, Console"}, "", ["otlp", "console"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "", ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "", ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "none"}, "/tmp/s.jsonl", ["file"]),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, "/tmp/s", []),
    ],
)
def test_which_exporters_the_environment_asks_for(
    env: dict[str, str], traces_file: str, expected: list[str]
) -> None:
    assert tracing.exporters_asked(env, traces_file) == expected


def test_off_by_default_no_span_is_made_and_outputs_are_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not tracing.configure("cleaner", Settings(traces_file=""), env={})
    assert not tracing.enabled()

    def no_span(*_: Any, **__: Any) -> Any:
        raise AssertionError("a span was made with tracing off")

    monkeypatch.setattr(tracing, "stage_span", no_span)
    monkeypatch.setattr(tracing, "context_headers", no_span)
    out = Output("newswire.articles", b"a1", b"{}")
    source = Source("newswire.pages", 0, 7, b"a1", headers=[("traceparent", b"00-x-y-01")])
    got = asyncio.run(Stage("cleaner").handle(source, b"{}", lambda _: [out]))
    assert got == [out] and got[0].headers == ()
    assert tracing.start_trace("feed entry", ARTICLE) == ()
    assert tracing.current_ids() is None


def test_unknown_exporters_and_grpc_are_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="zipkin"):
        tracing.configure("cleaner", Settings(), env={"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(ConfigError, match="grpc"):
        tracing.configure(
            "cleaner",
            Settings(),
            env={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        )
    assert not tracing.enabled()


def test_extract_reads_the_context_inject_wrote_from_either_header_shape(traced: Path) -> None:
    headers = parent_headers()
    trace_id = header(headers, "traceparent").split("-")[1]
    assert f"{tracing.ARTICLE_BAGGAGE}={ARTICLE}" in header(headers, "baggage")
    for shape in (list(headers), dict(headers), [*headers, ("newswire-dedup-seq", b"4")]):
        ctx = tracing.extract(shape)
        assert tracing.article_of(ctx) == ARTICLE
        assert header(tracing.context_headers(ctx), "traceparent").split("-")[1] == trace_id
    assert tracing.extract(None) == tracing.extract([]) == tracing.extract([("k", b"v")])
    assert tracing.has_context(headers) and not tracing.has_context([("k", b"v")])


async def test_a_record_s_span_is_the_child_of_its_headers_and_its_outputs_carry_it(
    traced: Path,
) -> None:
    incoming = parent_headers()
    _, trace_id, root_span_id, _ = header(incoming, "traceparent").split("-")
    logged: list[dict[str, Any]] = []
    fmt = JsonFormatter("cleaner")

    def clean(_: bytes | None) -> list[Output]:
        rec = logging.LogRecord("newswire", logging.INFO, __file__, 1, "cleaning", (), None)
        logged.append(json.loads(fmt.format(rec)))
        return [
            Output("newswire.articles", ARTICLE.encode(), b"{}"),
            # Already the start of a trace of its own (the fetcher's entries): kept.
            Output("newswire.entries", b"host", b"{}", headers=parent_headers("other")),
        ]

    source = Source("newswire.pages", 2, 41, ARTICLE.encode(), headers=list(incoming))
    article, entry = await Stage("cleaner").handle(source, b"{}", clean)

    by_name = {s["name"]: s for s in spans(traced)}
    span = by_name["cleaner pages"]
    assert span["trace_id"] == trace_id and span["parent_span_id"] == root_span_id
    assert span["service"] == "newswire-cleaner" and span["kind"] == "CONSUMER"
    assert span["attributes"]["newswire.article_id"] == ARTICLE
    assert span["attributes"]["newswire.stage"] == "cleaner"
    assert span["attributes"]["messaging.destination.name"] == "newswire.pages"
    assert span["attributes"]["messaging.kafka.offset"] == 41
    assert span["status"] == "UNSET"
    # The output names the span as its parent, and the article in its baggage.
    assert header(article.headers, "traceparent").split("-")[1:3] == [trace_id, span["span_id"]]
    assert f"{tracing.ARTICLE_BAGGAGE}={ARTICLE}" in header(article.headers, "baggage")
    assert header(entry.headers, "traceparent").split("-")[1] != trace_id
    # What was logged while the record was handled names the trace and the span.
    assert logged[0]["trace_id"] == trace_id and logged[0]["span_id"] == span["span_id"]
    assert logged[0]["article_id"] == ARTICLE
    assert tracing.current_ids() is None  # nothing left current after the record


async def test_the_verdict_and_the_dead_letter_reason_go_on_the_span(traced: Path) -> None:
    story = {"verdict": "duplicate", "story_id": "s1", "article_id": ARTICLE}

    def decide(_: bytes | None) -> list[Output]:
        return [Output(STORIES.name, b"s1", json.dumps(story).encode())]

    def fail(_: bytes | None) -> list[Output]:
        raise FetchError("connection reset")

    stage = Stage("dedup")
    # Answers are keyed by sequence number: the article comes from the trace's baggage.
    answers = Source("newswire.dedup-answers", 0, 9, b"17", headers=parent_headers())
    await stage.handle(answers, b"{}", decide)
    [dead] = await Stage("fetcher").handle(
        Source("newswire.entries", 0, 3, b"host", headers=parent_headers()), b"{}", fail
    )
    assert dead.topic == DLQ.name and tracing.has_context(dead.headers)
    by_name = {s["name"]: s for s in spans(traced)}
    decided = by_name["dedup dedup-answers"]["attributes"]
    assert decided["newswire.verdict"] == "duplicate" and decided["newswire.story_id"] == "s1"
    assert decided["newswire.article_id"] == ARTICLE
    failed = by_name["fetcher entries"]
    assert failed["attributes"]["newswire.dlq_reason"] == "fetch"
    assert failed["status"] == "ERROR" and failed["status_description"] == "fetch"


async def test_a_record_handed_over_without_headers_finds_them_or_starts_a_trace(
    traced: Path,
) -> None:
    incoming = parent_headers()
    stage = Stage("dedup")
    stage.find_headers = lambda source: incoming if source.key == b"17" else None
    out = [Output(STORIES.name, b"s", json.dumps({"verdict": "new"}).encode())]
    [found] = await stage.handle(
        Source("newswire.dedup-answers", 0, None, b"17"), b"", lambda _: out
    )
    [fresh] = await stage.handle(
        Source("newswire.dedup-answers", 0, None, b"18"), b"", lambda _: out
    )
    trace_id = header(incoming, "traceparent").split("-")[1]
    assert header(found.headers, "traceparent").split("-")[1] == trace_id
    assert header(fresh.headers, "traceparent").split("-")[1] != trace_id
    roots = [s for s in spans(traced) if s["name"] == "dedup dedup-answers"]
    assert sorted(s["parent_span_id"] is None for s in roots) == [False, True]


def test_an_entry_starts_a_trace_of_its_own_linked_to_the_poll_that_found_it(
    traced: Path,
) -> None:
    poll = parent_headers("poll")
    with tracing.stage_span(
        "fetcher feed-polls",
        stage="fetcher",
        headers=poll,
        topic="newswire.feed-polls",
        partition=0,
        offset=1,
        article_id=None,
    ):
        headers = tracing.start_trace("feed entry", ARTICLE, **{"url.full": "http://x/a"})
    by_name = {s["name"]: s for s in spans(traced)}
    entry, polled = by_name["feed entry"], by_name["fetcher feed-polls"]
    assert entry["parent_span_id"] is None and entry["trace_id"] != polled["trace_id"]
    assert entry["links"] == [{"trace_id": polled["trace_id"], "span_id": polled["span_id"]}]
    assert entry["attributes"] == {"newswire.article_id": ARTICLE, "url.full": "http://x/a"}
    assert header(headers, "traceparent").split("-")[1:3] == [entry["trace_id"], entry["span_id"]]


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver on 127.0.0.1: keeps what is posted to /v1/traces."""

    received: ClassVar[list[tuple[str, bytes]]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.arrived.set()

    def log_message(self, *_: Any) -> None:
        pass


def test_spans_reach_an_otlp_collector_over_http_with_the_service_name() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        # The endpoint alone turns tracing on (OTEL_TRACES_EXPORTER unset: otlp).
        assert tracing.configure(
            "enricher", Settings(), env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        )
        asyncio.run(
            Stage("enricher").handle(
                Source("newswire.articles", 1, 5, ARTICLE.encode(), headers=parent_headers()),
                b"{}",
                lambda _: [],
            )
        )
        tracing.flush()
        assert Collector.arrived.wait(60)
    finally:
        tracing.shutdown()
        server.shutdown()
    names, services = set(), set()
    for path, body in Collector.received:
        assert path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            services.add(attrs["service.name"])
            names |= {s.name for scope in resource_spans.scope_spans for s in scope.spans}
    assert services == {"newswire-enricher"}
    assert {"feed entry", "enricher articles"} <= names
