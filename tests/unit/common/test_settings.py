"""The settings: frozen groups in the code, the same flat NEWSWIRE_ variables outside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.settings import (
    PROJECT_ROOT,
    DedupSettings,
    KafkaSettings,
    Settings,
    unknown_variables,
)
from services.devtools import settingsdoc

# Every variable deployments set before the settings were grouped (issue 18): a name
# that goes or changes here breaks someone's manifest.
BEFORE_GROUPS = [
    "allow_private_networks",
    "archive_dir",
    "backfill_checkpoint_records",
    "backfill_max_records_per_s",
    "cleaner_markdown",
    "cleaner_timeout_seconds",
    "cleaner_workers",
    "data_dir",
    "dedup_containment_threshold",
    "dedup_retention_days",
    "dedup_scope",
    "dedup_scope_map",
    "dedup_sequences",
    "dedup_store",
    "dedup_story_threshold",
    "dedup_story_window_hours",
    "embedding_max_chars",
    "embedding_max_tokens",
    "embedding_model",
    "embedding_model_dir",
    "enrichers",
    "fault_inject",
    "feed_content_max_bytes",
    "feed_pages",
    "feeds_file",
    "fetch_connect_timeout",
    "fetch_connections",
    "fetch_connections_per_host",
    "fetch_max_bytes",
    "fetch_max_redirects",
    "fetch_read_timeout",
    "fetch_total_timeout",
    "host_min_delay_seconds",
    "http_host",
    "http_port",
    "kafka_bootstrap",
    "kafka_sasl_mechanism",
    "kafka_sasl_password",
    "kafka_sasl_username",
    "kafka_security_protocol",
    "kafka_session_timeout_seconds",
    "kafka_ssl_cafile",
    "keywords_engine",
    "keywords_max_words",
    "keywords_top",
    "log_format",
    "log_level",
    "log_throttle_max_causes",
    "log_throttle_window_seconds",
    "max_message_bytes",
    "max_not_modified_streak",
    "max_page_chars",
    "max_validator_age_hours",
    "metrics_token",
    "ner_matmul",
    "ner_max_chars",
    "ner_models",
    "page_backlog",
    "page_concurrency",
    "place_min_population",
    "poll_max_interval_seconds",
    "poll_min_interval_seconds",
    "processing_guarantee",
    "reading_words_per_minute",
    "respect_robots",
    "robots_cache_seconds",
    "scheduler_tick_seconds",
    "seeds_url",
    "seen_entries_per_feed",
    "site_template_min_articles",
    "site_template_min_share",
    "stall_after_seconds",
    "status_services",
    "stop_grace_seconds",
    "summary_sentences",
    "topic_partitions",
    "topic_replication_factor",
    "traces_file",
    "user_agent",
]


@pytest.fixture(autouse=True)
def _no_newswire_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("NEWSWIRE_"):
            monkeypatch.delenv(name)


def test_the_variables_are_the_ones_deployments_set() -> None:
    assert sorted(flat for flat, *_ in Settings.fields()) == sorted(BEFORE_GROUPS)


def test_variables_land_in_their_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP", "kafka-1:9092")
    monkeypatch.setenv("NEWSWIRE_TOPIC_PARTITIONS", "12")  # a name without the prefix
    monkeypatch.setenv("newswire_fetch_connect_timeout", "3.5")  # case does not matter
    monkeypatch.setenv("NEWSWIRE_RESPECT_ROBOTS", "false")
    monkeypatch.setenv("NEWSWIRE_DEDUP_SCOPE_MAP", '{"en": 0, "de": 1}')
    monkeypatch.setenv("NEWSWIRE_DEDUP_SEQUENCES", "2")
    monkeypatch.setenv("NEWSWIRE_NER_MODELS", '{"de": "de_core_news_sm"}')
    s = Settings()
    assert s.kafka.bootstrap == "kafka-1:9092"
    assert s.kafka.topic_partitions == 12
    assert s.fetcher.connect_timeout == 3.5
    assert s.fetcher.respect_robots is False
    assert s.dedup.scope_map == {"en": 0, "de": 1} and s.dedup.sequences == 2
    assert s.enricher.ner_models == {"de": "de_core_news_sm"}
    assert s.value("fetch_connect_timeout") == 3.5
    # Everything else keeps its default.
    assert s.kafka.max_message_bytes == KafkaSettings().max_message_bytes
    assert s.dedup.retention_days == DedupSettings().retention_days


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP", "from-env:9092")
    monkeypatch.setenv("NEWSWIRE_KAFKA_SESSION_TIMEOUT_SECONDS", "45")
    s = Settings(kafka_bootstrap="from-arg:9092")
    assert s.kafka.bootstrap == "from-arg:9092"
    assert s.kafka.session_timeout_seconds == 45.0  # the group's other fields from env
    whole = Settings(kafka=KafkaSettings(bootstrap="whole:9092"))
    assert whole.kafka.bootstrap == "whole:9092" and whole.kafka.session_timeout_seconds == 30.0


def test_bad_values_are_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWIRE_DEDUP_SCOPE_MAP", "{not json")
    with pytest.raises(ValueError, match="NEWSWIRE_DEDUP_SCOPE_MAP is not JSON"):
        Settings()
    monkeypatch.delenv("NEWSWIRE_DEDUP_SCOPE_MAP")
    monkeypatch.setenv("NEWSWIRE_PAGE_CONCURRENCY", "0")
    with pytest.raises(ValidationError, match="page_concurrency"):
        Settings()


def test_a_misspelt_argument_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(ValidationError):
        Settings(kafka_bootstrapp="x:9092")
    with pytest.raises(ValidationError):
        Settings(kafka={"bootstrapp": "x:9092"})


def test_settings_are_frozen_and_replace_validates() -> None:
    s = Settings(dedup_sequences=2)
    with pytest.raises(ValidationError):
        s.dedup.sequences = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.kafka = KafkaSettings()  # type: ignore[misc]
    t = s.replace(kafka_bootstrap="b:9092", enrichers="stats")
    assert (t.kafka.bootstrap, t.enricher.enrichers, t.dedup.sequences) == ("b:9092", "stats", 2)
    assert s.kafka.bootstrap is None  # the original is unchanged
    with pytest.raises(ValidationError):
        s.replace(dedup_sequences=0)


def test_secrets_survive_replace_and_stay_hidden() -> None:
    s = Settings(kafka_sasl_password="hunter2").replace(kafka_bootstrap="b:9092")
    assert s.kafka.sasl_password is not None
    assert s.kafka.sasl_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


def test_variables_no_setting_reads_are_named() -> None:
    env = {
        "NEWSWIRE_KAFKA_BOOTSTRAP": "x",
        "NEWSWIRE_KAFKA_BOOSTRAP": "x",  # a typo
        "NEWSWIRE_CACHE_DIR": "/tmp",  # read by the development broker, not a setting
        "PATH": "/bin",
    }
    assert unknown_variables(env) == ["NEWSWIRE_KAFKA_BOOSTRAP"]


def test_every_setting_says_what_it_is_for() -> None:
    missing = [flat for flat, _, _, info in Settings.fields() if not info.description]
    assert missing == []


def test_the_settings_reference_is_current() -> None:
    doc = PROJECT_ROOT / "docs" / "settings.md"
    assert doc.read_text() == settingsdoc.render(), "run `make settings-doc`"


_VARIABLE = re.compile(r"NEWSWIRE_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])")  # not `NEWSWIRE_LOG_*`


def _named_in(paths: list[Path]) -> set[str]:
    return {m for p in paths for m in _VARIABLE.findall(p.read_text(errors="replace"))}


def test_every_variable_the_docs_and_deploy_files_name_is_a_setting() -> None:
    """README, docs and deploy files name variables by hand: each must exist (a README
    line like `_SASL_USERNAME` continuing a full name is not a variable of its own)."""
    files = [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").rglob("*.md")]
    files += [p for p in (PROJECT_ROOT / "deploy").rglob("*") if p.is_file()]
    files = [p for p in files if p.suffix in {".md", ".yaml", ".yml", ".env", ".tpl", ""}]
    named = _named_in(files)
    assert len(named) > 20
    assert unknown_variables(dict.fromkeys(named, "")) == []


def test_pydantics_copy_validates_and_nests_too() -> None:
    """`model_copy(update=...)` would set a flat name beside the groups, read by nothing."""
    s = Settings().model_copy(update={"cleaner_timeout_seconds": 0.5})
    assert s.cleaner.timeout_seconds == 0.5
    with pytest.raises(ValidationError):
        Settings().model_copy(update={"cleaner_timeout_seconds": -1})
