"""`newswire status` as data: the services' metrics pages and the cluster's figures
summed up per stage, and the screen drawn from them."""

from __future__ import annotations

from services.ops.statusview import Cluster, Probe, render, summarize

CLEANER = """
# TYPE newswire_dlq_records_total counter
newswire_dlq_records_total{stage="cleaner",reason="no_content"} 3.0
newswire_dlq_records_total{stage="cleaner",reason="decode"} 1.0
# TYPE newswire_ready gauge
newswire_ready 1.0
"""
FETCHER = """
# TYPE newswire_feeds_tracked gauge
newswire_feeds_tracked 12.0
# TYPE newswire_feeds_failing gauge
newswire_feeds_failing 2.0
# TYPE newswire_feed_poll_errors_total counter
newswire_feed_poll_errors_total{reason="http_status"} 5.0
# TYPE newswire_dlq_records_total counter
newswire_dlq_records_total{stage="fetcher",reason="http_status"} 4.0
"""
DEDUP = """
# TYPE newswire_dedup_open_stories gauge
newswire_dedup_open_stories 40.0
# TYPE newswire_dedup_verdicts_total counter
newswire_dedup_verdicts_total{verdict="new"} 50.0
newswire_dedup_verdicts_total{verdict="duplicate"} 7.0
"""


def status(dedup_ready: bool = True) -> dict[str, object]:
    probes = [
        Probe("fetcher", "http://f", True, True, FETCHER),
        Probe("cleaner", "http://c", True, True, CLEANER),
        Probe("dedup", "http://d", True, dedup_ready, DEDUP),
        Probe("enricher", "http://e", None, None, "", "unreachable: ClientConnectorError"),
    ]
    cluster = Cluster(
        lag={"newswire-cleaner": {"newswire.pages": 17}, "newswire-dedup": {}},
        last_minute={"newswire.articles": 120, "newswire.dlq": 4, "newswire.pages": 0},
    )
    return summarize(probes, cluster)


def test_figures_are_summed_per_stage_reason_and_feed() -> None:
    got = status()
    assert got["dlq"] == {
        "last_minute": 4,
        "by_stage_and_reason": {
            "cleaner": {"no_content": 3.0, "decode": 1.0},
            "fetcher": {"http_status": 4.0},
        },
    }
    assert got["feeds"] == {"tracked": 12, "failing": 2, "poll_errors": {"http_status": 5.0}}
    assert got["stories"] == {"open": 40, "verdicts": {"duplicate": 7, "new": 50}}
    stages = got["stages"]
    assert isinstance(stages, dict)
    assert stages["cleaner"]["lag"] == {"newswire.pages": 17}
    assert stages["cleaner"]["out_per_s"] == 2.0  # 120 articles in the last minute
    assert stages["fetcher"]["out_per_s"] == 0.0
    assert stages["enricher"]["out_per_s"] is None  # not read from the cluster


def test_one_service_unreachable_or_unready_makes_the_pipeline_unhealthy() -> None:
    assert status()["healthy"] is False  # the enricher is unreachable
    screen = render(status())
    assert "enricher   -        -      http://e  (unreachable: ClientConnectorError)" in screen
    assert "cleaner    2.00" in screen and "pages 17" in screen
    assert "no_content 3, decode 1" in screen
    assert "feeds: 12 tracked, 2 failing (poll errors: http_status 5)" in screen
    assert "stories: 40 open; verdicts duplicate 7, new 50" in screen
    assert screen.endswith("NOT HEALTHY: see above")
