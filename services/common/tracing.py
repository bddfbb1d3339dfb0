"""Traces: one per article, from its feed entry to its story, across the four services.

Off unless asked for, with the standard OpenTelemetry variables: `OTEL_TRACES_EXPORTER`
(`otlp`, `console`, or several, comma-separated; `none` is off), or just an OTLP
endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, which
means `otlp`); `OTEL_SDK_DISABLED=true` wins over both. The SDK itself reads the rest
(`OTEL_SERVICE_NAME`, default `newswire-<service>`; `OTEL_RESOURCE_ATTRIBUTES`;
`OTEL_TRACES_SAMPLER`; `OTEL_BSP_*`; `OTEL_EXPORTER_OTLP_HEADERS`, timeouts, TLS).
`NEWSWIRE_TRACES_FILE` adds an exporter of ours that writes one JSON line per span.

The context crosses processes in Kafka record headers: W3C `traceparent` (and
`tracestate`), and W3C `baggage` carrying the article id, so hops whose records are not
keyed by article id (dedup's lookups and answers) still know which article they serve.
The fetcher starts each article's trace when it emits the entry (`start_trace`); the
shared stage code (services/common/stage.py) makes each record's handling a span,
child of its input's context (`stage_span`), and puts that span's context on the
outputs (`context_headers`). Nothing here knows Kafka or Newswire's records.

When off, `enabled()` is False and callers make no span and copy no header: the
per-record cost is that one call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage, context, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace import Span as Span  # re-exported: the stage code names it
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.common.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from services.common.settings import Settings

#: Kafka record headers as aiokafka gives them (a list of pairs) or Faust may (a mapping).
KafkaHeaders = Sequence[tuple[str, bytes]] | Mapping[str, bytes]
Headers = tuple[tuple[str, bytes], ...]

ARTICLE_BAGGAGE = "newswire.article_id"
#: The headers this module reads and writes; any other header is left alone.
TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})

_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_TRACER: Tracer | None = None
_PROVIDER: TracerProvider | None = None
_LOCK = threading.Lock()


def enabled() -> bool:
    """Whether this process traces (configure found an exporter to send spans to)."""
    return _TRACER is not None


def exporters_asked(env: Mapping[str, str], traces_file: str = "") -> list[str]:
    """The exporters the environment asks for, by name (`file` for NEWSWIRE_TRACES_FILE);
    empty: tracing stays off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = env.get("OTEL_TRACES_EXPORTER")
    if named is None:
        # Unset means `otlp` in the SDK's own defaults; here it takes an endpoint to
        # say so, or every service of every test and laptop would try to export.
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        names = ["otlp"] if endpoint else []
    else:
        names = [n.strip().lower() for n in named.split(",") if n.strip()]
        names = [n for n in names if n != "none"]
    if traces_file:
        names.append("file")
    return names


def configure(service: str, settings: Settings, env: Mapping[str, str] | None = None) -> bool:
    """Start tracing for this process if the environment asks for it; True when on.

    Once per process: a second call (several apps in one test process) keeps the first
    provider. Raises ConfigError for an exporter or protocol that is not installed.
    """
    global _TRACER, _PROVIDER
    env = os.environ if env is None else env
    names = exporters_asked(env, settings.logs.traces_file)
    with _LOCK:
        if _TRACER is not None or not names:
            return _TRACER is not None
        # The SDK only when asked for: a process that does not trace never imports it.
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        name = env.get("OTEL_SERVICE_NAME") or f"newswire-{service}"
        resource = Resource.create({SERVICE_NAME: name, "service.namespace": "newswire"})
        provider = TracerProvider(resource=resource)
        for exporter in _exporters(names, service, settings, env):
            provider.add_span_processor(BatchSpanProcessor(exporter))
        _PROVIDER = provider
        _TRACER = provider.get_tracer("newswire")
    return True


def _exporters(
    names: list[str], service: str, settings: Settings, env: Mapping[str, str]
) -> list[SpanExporter]:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    out: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = (
                env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf"
            )
            if protocol != "http/protobuf":
                raise ConfigError(
                    f"OTLP protocol {protocol!r} is not installed; Newswire exports "
                    "http/protobuf (a collector's port 4318)"
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # The endpoint as the SDK would read it, but from `env` (the rest, headers,
            # TLS and timeouts, the exporter reads from the process's environment).
            endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
                (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318").rstrip("/")
                + "/v1/traces"
            )
            out.append(OTLPSpanExporter(endpoint=endpoint))
        elif name == "console":
            out.append(ConsoleSpanExporter())
        elif name == "file":
            from services.common.tracefile import JsonLinesExporter

            out.append(JsonLinesExporter(settings.logs.traces_file.replace("{service}", service)))
        else:
            raise ConfigError(f"OTEL_TRACES_EXPORTER {name!r} is not one of otlp, console, none")
    return out


def flush(timeout_s: float = 5.0) -> None:
    """Export the spans still queued (a stopping service); blocks up to `timeout_s`."""
    if _PROVIDER is not None:
        _PROVIDER.force_flush(int(timeout_s * 1000))


def shutdown() -> None:
    """Flush and stop tracing in this process (tests; exit does it by itself)."""
    global _TRACER, _PROVIDER
    with _LOCK:
        provider, _PROVIDER, _TRACER = _PROVIDER, None, None
    if provider is not None:
        provider.shutdown()


def extract(headers: KafkaHeaders | None) -> context.Context:
    """The trace context a record's headers carry; an empty context when none."""
    carrier: dict[str, str] = {}
    if headers:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for key, value in pairs:
            name = key.lower()
            if name in TRACE_HEADERS and value is not None:
                carrier[name] = value.decode("latin-1") if isinstance(value, bytes) else value
    if not carrier:
        return context.Context()
    return _PROPAGATOR.extract(carrier, context=context.Context())


def context_headers(ctx: context.Context | None = None) -> Headers:
    """Headers that carry `ctx` (by default the current one) to the next process."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=ctx)
    return tuple((k, v.encode("latin-1")) for k, v in carrier.items())


def has_context(headers: KafkaHeaders) -> bool:
    keys = headers.keys() if isinstance(headers, Mapping) else (k for k, _ in headers)
    return any(k.lower() == "traceparent" for k in keys)


def article_of(ctx: context.Context) -> str | None:
    value = baggage.get_baggage(ARTICLE_BAGGAGE, ctx)
    return value if isinstance(value, str) else None


def start_trace(name: str, article_id: str, **attributes: Any) -> Headers:
    """A new trace for one article (the fetcher emitting its entry): a span that ends at
    once, linked to the span current now (the feed poll that found the entry), and the
    headers that make the article's next record its child. () when tracing is off."""
    tracer = _TRACER
    if tracer is None:
        return ()
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if current.is_valid else None
    # A fresh context, not the current one: each article gets a trace of its own, not a
    # branch of the poll's.
    ctx = baggage.set_baggage(ARTICLE_BAGGAGE, article_id, context.Context())
    attrs: dict[str, Any] = {"newswire.article_id": article_id, **attributes}
    span = tracer.start_span(
        name, context=ctx, kind=SpanKind.PRODUCER, links=links, attributes=attrs
    )
    try:
        return context_headers(trace.set_span_in_context(span, ctx))
    finally:
        span.end()


@contextmanager
def stage_span(
    name: str,
    *,
    stage: str,
    headers: KafkaHeaders | None,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    article_id: str | None,
) -> Iterator[Span]:
    """The span of one record's handling, current while it runs: the child of the trace
    in the record's `headers`, or the root of a new trace when they carry none (a page
    from `newswire backfill`). The article id (from the record's key, else the trace's
    baggage) goes on the span and into the baggage of what the record produces."""
    tracer = _TRACER
    if tracer is None:
        yield trace.INVALID_SPAN
        return
    parent = extract(headers)
    carried = article_of(parent)
    if article_id is None:
        article_id = carried
    elif carried != article_id:
        parent = baggage.set_baggage(ARTICLE_BAGGAGE, article_id, parent)
    attrs: dict[str, Any] = {"newswire.stage": stage, "messaging.system": "kafka"}
    if article_id is not None:
        attrs["newswire.article_id"] = article_id
    if topic is not None:
        attrs["messaging.destination.name"] = topic
    if partition is not None:
        attrs["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attrs["messaging.kafka.offset"] = offset
    span = tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attrs)
    token = context.attach(trace.set_span_in_context(span, parent))
    try:
        yield span
    finally:
        context.detach(token)
        span.end()


def current_article() -> str | None:
    """The article id the current trace's baggage names (None when not tracing)."""
    if _TRACER is None:
        return None
    return article_of(context.get_current())


def record_failure(exc: BaseException, reason: str) -> None:
    """Put an unexpected failure's exception on the current span (the record goes to the
    DLQ, and `annotate` marks the span failed); no-op when not tracing."""
    if _TRACER is not None and reason == "internal":
        trace.get_current_span().record_exception(exc)


def annotate(span: Span, attributes: Mapping[str, str], *, failed: bool) -> None:
    """What a record's handling came to (Stage's `describe` finds it in the outputs)."""
    span.set_attributes(attributes)
    if failed:
        span.set_status(Status(StatusCode.ERROR, attributes.get("newswire.dlq_reason")))


def current_ids() -> tuple[str, str] | None:
    """The current span's trace id and span id in hex, for log lines; None when none."""
    if _TRACER is None:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
