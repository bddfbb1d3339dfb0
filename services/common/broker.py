"""The local development broker: real Apache Kafka in KRaft mode from Maven Central jars.

Used by `make run`, the test fixtures and the benchmarks. Never used when
NEWSWIRE_KAFKA_BOOTSTRAP names a cluster.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import BrokerError
from services.common.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

POM = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
CACHE_DIR = Path(os.environ.get("NEWSWIRE_CACHE_DIR", PROJECT_ROOT / ".cache"))
START_TIMEOUT_S = 90.0

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
"""


def _kafka_version() -> str:
    text = POM.read_text()
    start = text.index("<kafka.version>") + len("<kafka.version>")
    return text[start : text.index("</kafka.version>")]


def libs_dir() -> Path:
    return CACHE_DIR / "kafka" / _kafka_version() / "libs"


def ensure_jars() -> Path:
    """Copy the broker's jars from Maven Central into the cache, once."""
    libs = libs_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise BrokerError(
            "Maven (mvn) is needed to fetch the Kafka jars; or set NEWSWIRE_KAFKA_BOOTSTRAP"
        )
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    log.info("fetching Kafka jars: %s", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"mvn failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    marker.touch()
    return libs


def new_cluster_id() -> str:
    """A KRaft cluster id (22 url-safe base64 characters).

    Never one starting with "-": the storage tool's argument parser would take it for
    an option (1 run in 64 failed that way).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "Java 17+ is needed for the local broker; or set NEWSWIRE_KAFKA_BOOTSTRAP"
        )
    return found


def _server_properties(data: Path, port: int, controller_port: int, max_message_bytes: int) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data / "logs"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # A single-member dev group should not wait 3 s before its first assignment.
        "group.initial.rebalance.delay.ms": "0",
        # Topics are declared by Newswire (services.common.kafka.ensure_topics) with their
        # contracts' settings; a typo must fail, not silently create a 1-partition topic.
        "auto.create.topics.enable": "false",
        "message.max.bytes": str(max_message_bytes + 1024 * 1024),
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


@dataclass
class LocalBroker:
    """A running single-node KRaft broker."""

    bootstrap: str
    pid: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.workdir / "kafka.log"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop by PID: SIGTERM for a clean shutdown, SIGKILL if it does not come."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(self.pid, self.process):
            time.sleep(0.2)
        if _alive(self.pid, self.process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir / "logs", ignore_errors=True)


def _alive(pid: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_broker(max_message_bytes: int = 10 * 1024 * 1024, port: int | None = None) -> LocalBroker:
    """Fetch jars if needed, format fresh storage, start the broker and wait until it answers."""
    libs = ensure_jars()
    java = _java()
    workdir = Path(tempfile.mkdtemp(prefix="newswire-kafka-"))
    port = port or free_port()
    controller_port = free_port()
    props = workdir / "server.properties"
    props.write_text(_server_properties(workdir, port, controller_port, max_message_bytes))
    log4j = workdir / "log4j2.properties"
    log4j.write_text(LOG4J2.format(log=workdir / "kafka.log"))
    classpath = f"{libs}/*"
    jvm = [
        java,
        "-Xms256m",
        "-Xmx1g",
        f"-Dlog4j2.configurationFile={log4j}",
        "-Djava.awt.headless=true",
        "-cp",
        classpath,
    ]
    cluster_id = new_cluster_id()
    fmt = subprocess.run(
        [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if fmt.returncode != 0:
        raise BrokerError(f"kafka storage format failed: {fmt.stdout[-1500:]}{fmt.stderr[-1500:]}")
    out = (workdir / "stdout.log").open("wb")
    proc = subprocess.Popen(
        [*jvm, "kafka.Kafka", str(props)],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    broker = LocalBroker(f"127.0.0.1:{port}", proc.pid, workdir, proc)
    try:
        wait_until_ready(broker.bootstrap, START_TIMEOUT_S, proc)
    except BaseException:
        broker.stop()
        raise
    (workdir / "broker.pid").write_text(str(proc.pid))
    log.info("local Kafka up at %s (pid %d, dir %s)", broker.bootstrap, proc.pid, workdir)
    return broker


def wait_until_ready(
    bootstrap: str, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Bounded wait until the broker answers a metadata request (not just an open port)."""
    import asyncio

    from services.common.kafka import cluster_metadata_ok

    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"kafka exited with code {proc.returncode} during start-up")
        try:
            # A cheap TCP probe first, so the Kafka client is not asked (and does not log
            # connection errors) before the listener is even open.
            host, _, port = bootstrap.rpartition(":")
            with socket.create_connection((host, int(port)), timeout=1.0):
                pass
            if asyncio.run(cluster_metadata_ok(bootstrap, timeout=5.0)):
                return
        except Exception as exc:  # any failure here just means "not yet"
            last_error = repr(exc)
        time.sleep(0.5)
    raise BrokerError(
        f"kafka at {bootstrap} did not answer metadata within {timeout:.0f}s: {last_error}"
    )


@contextlib.contextmanager
def running_broker(max_message_bytes: int = 10 * 1024 * 1024) -> Iterator[str]:
    """Yield a bootstrap address: NEWSWIRE_KAFKA_BOOTSTRAP's cluster, or a fresh local broker."""
    external = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = start_broker(max_message_bytes)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
