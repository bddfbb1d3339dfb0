"""`newswire`: run a service, the local stack, or poke at topics and feeds."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from services.common.logging import setup_logging_from
from services.common.settings import PROJECT_ROOT, Settings, load_settings

SERVICE_NAMES = ("fetcher", "cleaner", "enricher", "dedup")


def _run_service(name: str) -> None:
    import importlib

    # As a container's PID 1 the process would ignore SIGTERM until Faust's worker sets
    # its handler (the kernel drops default-handled signals to PID 1): a pod stopped
    # while it creates topics or loads its feed list would wait out the grace period.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    importlib.import_module(f"services.{name}.__main__").main()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _cmd_run(args: argparse.Namespace) -> int:
    from services.common.kafka import ensure_topics
    from services.devtools.stack import start_stack
    from services.devtools.tail import tail_stories

    run_dir = Path(args.run_dir).resolve()
    # A SIGTERM (from a supervisor, or `kill`) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"starting broker, seed server and services (logs in {run_dir}) ...", flush=True)
    stack = start_stack(run_dir)
    try:
        print(f"kafka:  {stack.bootstrap}\nseeds:  {stack.seeds_url}", flush=True)
        _write_stack_file(
            run_dir,
            stack.bootstrap,
            {
                name: f"http://127.0.0.1:{proc.port}"
                for name, proc in stack.procs.items()
                if name != "seeds"
            },
        )
        for name, proc in stack.procs.items():
            if name != "seeds":
                print(
                    f"{name:9} http://127.0.0.1:{proc.port}/metrics  /healthz  /readyz", flush=True
                )
        print(
            "stories as they arrive, one line per article (its verdict, the story it joined,"
            " its outlet);\nevery story with its outlets once things go quiet"
            " (Ctrl-C stops everything):",
            flush=True,
        )
        settings = load_settings().replace(kafka_bootstrap=stack.bootstrap)
        # Declared (and led) before tailing, so the reader does not race the services' start-up.
        asyncio.run(ensure_topics(settings))
        # The first offset look-ups on brand-new topics are retried by aiokafka and logged
        # as errors; on this terminal they only hide the stories.
        logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
        tail_stories(settings)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...", flush=True)
        stack.stop()
    return 0


def _write_stack_file(run_dir: Path, bootstrap: str, services: dict[str, str]) -> None:
    """Where the local stack's broker and services are, for `newswire status`."""
    (run_dir / "stack.json").write_text(json.dumps({"bootstrap": bootstrap, "services": services}))


def _cmd_status(args: argparse.Namespace) -> int:
    from services.ops import status

    settings = load_settings()
    stack_file = Path(args.run_dir) / "stack.json"
    if not settings.kafka.bootstrap and stack_file.exists():  # the local stack's broker
        bootstrap = json.loads(stack_file.read_text())["bootstrap"]
        settings = settings.replace(kafka_bootstrap=bootstrap)
    services = status.services_from(args.service, settings, stack_file)
    return status.main(settings, services, as_json=args.json, watch=args.watch)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _cmd_dlq(args: argparse.Namespace) -> int:
    from services.ops import deadletters as view
    from services.ops import dlq

    settings = load_settings()
    select = view.Selection(
        stages=frozenset(args.stage),
        reasons=frozenset(args.reason),
        since=_when(args.since),
        until=_when(args.until),
        ids=frozenset(args.ids),
    )
    if args.action == "replay":
        if not (args.ids or args.stage or args.reason or args.since or args.until):
            print("dlq replay needs a selection: ids, --stage, --reason, --since or --until")
            return 2
        report = asyncio.run(dlq.replay(settings, select, dry_run=args.dry_run))
        verb = "would send" if args.dry_run else "sent"
        for item in report.sent:
            print(f"{verb}  {view.summary_line(item)}")
        for item, why in report.skipped:
            print(f"skipped  {view.summary_line(item)}  ({why})")
        print(f"{len(report.sent)} {verb}, {len(report.skipped)} skipped")
        return 0
    letters = [item for item in asyncio.run(dlq.read_letters(settings)) if select(item)]
    if args.action == "show":
        if not args.ids:
            print("dlq show needs one or more ids (partition:offset; see dlq list --records)")
            return 2
        for item in letters:
            print(view.describe(item) + "\n")
        return 0 if letters else 1
    if args.records:
        for item in letters:
            print(view.summary_line(item))
    for stage, reason, n, first, last in view.counts(letters):
        print(f"{stage:9} {reason:18} {n:6}  {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}")
    print(f"{len(letters)} dead letters")
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    from services.devtools.tail import tail

    tail(
        load_settings(),
        args.topic,
        pretty=args.pretty,
        from_beginning=not args.latest,
        max_records=args.max,
        timeout=args.timeout,
    )
    return 0


def _cmd_feeds(args: argparse.Namespace) -> int:
    from services.common.kafka import ensure_topics
    from services.common.models import FeedRecord
    from services.fetcher.bootstrap import publish_feeds, remove_feed
    from services.fetcher.inspect import describe, feed_states, registered_feeds

    settings = load_settings()
    asyncio.run(ensure_topics(settings))
    if args.action == "add":
        record = FeedRecord(url=args.url, title=args.title, pages=args.pages)
        asyncio.run(publish_feeds(settings, [record]))
        print(f"added {args.url}")
    elif args.action == "remove":
        asyncio.run(remove_feed(settings, args.url))
        print(f"removed {args.url}")
    elif args.action == "discover":
        for found in asyncio.run(_discover(settings, args.url)):
            print(json.dumps(found))
    else:
        registered = asyncio.run(registered_feeds(settings))
        states = asyncio.run(feed_states(settings))
        urls = [args.url] if args.action == "show" else sorted(registered)
        for url in urls:
            info = describe(url, registered.get(url), states.get(url))
            if args.action == "show":
                print(json.dumps(info, indent=2))
            else:
                print(
                    f"{info['status']:15} next={info.get('next_poll_at', '-')} {url}"
                    + (f"  [{info['last_error']}]" if info.get("last_error") else "")
                )
        if args.action == "show" and args.url not in registered:
            return 1
    return 0


async def _discover(settings: Settings, url: str) -> list[dict[str, object]]:
    from dataclasses import asdict

    from services.fetcher.discovery import discover
    from services.fetcher.net.http import HttpClient

    client = HttpClient(settings)
    try:
        return [asdict(found) for found in await discover(url, client)]
    finally:
        await client.close()


def _cmd_extract(args: argparse.Namespace) -> int:
    from services.cleaner.offline import run

    failed = run(args.paths, load_settings())
    return 1 if failed and args.strict else 0


def _cmd_enrich(args: argparse.Namespace) -> int:
    from services.enricher.offline import run

    failed = run(args.paths, load_settings())
    return 1 if failed and args.strict else 0


def _cmd_cluster(args: argparse.Namespace) -> int:
    from services.dedup.offline import run

    bad = run(args.path, load_settings())
    return 1 if bad and args.strict else 0


def _cmd_broker(args: argparse.Namespace) -> int:
    from services.devtools.broker import ensure_jars, start_broker

    if args.action == "fetch":
        print(ensure_jars())
        return 0
    # A SIGTERM stops the broker (and removes its folder) like Ctrl-C does: left to the
    # default it would end this process and leave Kafka running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    broker = start_broker()
    try:
        # Inside the try: a signal right after the line is out still stops the broker.
        where = f"(pid {broker.pid}, log {broker.log_file})"
        print(f"NEWSWIRE_KAFKA_BOOTSTRAP={broker.bootstrap}  {where}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    from services.common.kafka import ensure_topics

    created = asyncio.run(ensure_topics(load_settings()))
    print("created: " + (", ".join(created) or "none (all exist)"))
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from services.common.schemagen import SCHEMA_DIR, render, write_all

    if args.write:
        for path in write_all():
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return 0
    stale = [
        name
        for name in sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json"))
        if (SCHEMA_DIR / name).read_text() != render(name)
    ]
    for name in stale:
        print(f"stale: schemas/{name} (run: newswire schemas --write)")
    return 1 if stale else 0


def _cmd_backfill(args: argparse.Namespace) -> int:
    from services.backfill.run import main as backfill_main

    return backfill_main(args, load_settings())


def _cmd_reprocess(args: argparse.Namespace) -> int:
    from services.ops.reprocess import main as reprocess_main

    return reprocess_main(args, load_settings())


def _cmd_serve_seeds(args: argparse.Namespace) -> int:
    from services.devtools import seedserver

    async def serve() -> None:
        runner, base = await seedserver.start(Path(args.root), args.host, args.port)
        print(f"serving {args.root} at {base}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newswire", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name in SERVICE_NAMES:
        sub.add_parser(name, help=f"run the {name} service (one process)")
    run = sub.add_parser("run", help="broker + seed server + all services, showing stories")
    run.add_argument("--run-dir", default=str(PROJECT_ROOT / ".cache" / "run"))
    dl = sub.add_parser("dlq", help="list, show or replay dead letters (newswire.dlq)")
    dl.add_argument("action", choices=["list", "show", "replay"])
    dl.add_argument("ids", nargs="*", help="dead letter ids (partition:offset)")
    dl.add_argument("--stage", action="append", default=[])
    dl.add_argument("--reason", action="append", default=[])
    dl.add_argument("--since", help="ISO time: failed at or after")
    dl.add_argument("--until", help="ISO time: failed before")
    dl.add_argument("--records", action="store_true", help="list: one line per dead letter")
    dl.add_argument("--dry-run", action="store_true", help="replay: say what would be sent")
    st = sub.add_parser("status", help="the whole pipeline on one screen (exit 1: not healthy)")
    st.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a service's HTTP base URL (repeatable; default NEWSWIRE_STATUS_SERVICES, "
        "else the local stack of `newswire run`)",
    )
    st.add_argument("--json", action="store_true", help="one JSON object (per refresh)")
    st.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=5.0,
        default=None,
        metavar="S",
        help="refresh every S seconds (5), in place on a terminal",
    )
    st.add_argument("--run-dir", default=str(PROJECT_ROOT / ".cache" / "run"))
    t = sub.add_parser("tail", help="print a topic's records")
    t.add_argument("topic")
    t.add_argument("--pretty", action="store_true", help="one summary line per story")
    t.add_argument("--latest", action="store_true", help="only records produced from now on")
    t.add_argument("--max", type=int, default=None)
    t.add_argument("--timeout", type=float, default=None)
    f = sub.add_parser("feeds", help="add, remove or list feeds in newswire.feeds")
    f.add_argument("action", choices=["add", "remove", "list", "show", "discover"])
    f.add_argument("url", nargs="?")
    f.add_argument("--title")
    f.add_argument(
        "--pages",
        choices=["auto", "always", "never"],
        help="request article pages (default NEWSWIRE_FEED_PAGES); auto: not when the "
        "feed's content is the whole article; never: articles from the feed alone",
    )
    x = sub.add_parser("extract", help="clean HTML/text files offline: one JSON line each")
    x.add_argument("paths", nargs="+", help="files, folders (.html, .html.gz, .txt) or - for stdin")
    x.add_argument("--strict", action="store_true", help="exit 1 when any document failed")
    e = sub.add_parser("enrich", help="enrich article JSON lines offline: one JSON line each")
    e.add_argument("paths", nargs="+", help="JSONL files of articles (id, title, text) or -")
    e.add_argument("--strict", action="store_true", help="exit 1 when any record failed")
    c = sub.add_parser("cluster", help="dedup verdicts and story ids for article JSON lines")
    c.add_argument("path", help="JSONL of articles (id, text; url, title, published) or -")
    c.add_argument("--strict", action="store_true", help="exit 1 when any line was unusable")
    b = sub.add_parser("broker", help="the local Kafka broker")
    b.add_argument("action", choices=["start", "fetch"])
    sub.add_parser("topics", help="create missing topics")
    s = sub.add_parser("schemas", help="check (or --write) schemas/ against the models")
    s.add_argument("--write", action="store_true")
    ss = sub.add_parser("serve-seeds", help="serve seeds/ over HTTP")
    ss.add_argument("--root", default=str(PROJECT_ROOT / "seeds"))
    ss.add_argument("--host", default="127.0.0.1")
    ss.add_argument("--port", type=int, default=8000)
    from services.backfill.args import add_arguments as backfill_arguments

    backfill_arguments(sub.add_parser("backfill", help="WARC/ARC archives into newswire.pages"))
    from services.ops.reprocessargs import add_arguments as reprocess_arguments

    reprocess_arguments(
        sub.add_parser("reprocess", help="a stage's input from a time on, through its code again")
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in SERVICE_NAMES:
        _run_service(args.command)
        return 0
    settings = load_settings()
    setup_logging_from(settings, "cli")
    if args.command == "feeds" and args.action != "list" and not args.url:
        print("feeds add|remove|show|discover need a URL", file=sys.stderr)
        return 2
    handlers = {
        "run": _cmd_run,
        "extract": _cmd_extract,
        "enrich": _cmd_enrich,
        "cluster": _cmd_cluster,
        "tail": _cmd_tail,
        "status": _cmd_status,
        "dlq": _cmd_dlq,
        "feeds": _cmd_feeds,
        "broker": _cmd_broker,
        "topics": _cmd_topics,
        "schemas": _cmd_schemas,
        "serve-seeds": _cmd_serve_seeds,
        "backfill": _cmd_backfill,
        "reprocess": _cmd_reprocess,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
