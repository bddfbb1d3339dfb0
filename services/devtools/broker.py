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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.common.errors import BrokerError
from services.common.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

POM = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
CACHE_DIR = Path(os.environ.get("NEWSWIRE_CACHE_DIR", PROJECT_ROOT / ".cache"))
START_TIMEOUT_S = 90.0
SCRAM_MECHANISM = "SCRAM-SHA-512"
# The storage tool's --add-scram value is "[name=...,password=...]": these would break it.
_SCRAM_UNSAFE = frozenset(",[]=\"'\\") | frozenset(" \t\r\n")

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


@dataclass(frozen=True)
class SaslSslListener:
    """A TLS listener with SCRAM-SHA-512 logins, served beside the PLAINTEXT one.

    PLAINTEXT stays (on 127.0.0.1 only) for the controller, inter-broker traffic and the
    readiness probe, so a client reaches the broker over TLS+SCRAM only on this port.
    """

    certfile: Path  # the server's certificate chain, PEM, leaf first
    keyfile: Path  # its private key: PEM, PKCS#8, unencrypted
    # name -> password, created at format time; never in a repr (reprs end up in logs).
    users: Mapping[str, str] = field(repr=False)
    port: int = 0  # 0: a free port


def _server_properties(
    data: Path,
    port: int,
    controller_port: int,
    max_message_bytes: int,
    sasl_port: int | None = None,
    keystore: Path | None = None,
) -> str:
    listeners = [f"PLAINTEXT://127.0.0.1:{port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
    if sasl_port is not None:
        listeners.append(f"SASL_SSL://127.0.0.1:{sasl_port}")
        protocols.append("SASL_SSL:SASL_SSL")
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{controller_port}"]),
        "advertised.listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": ",".join(protocols),
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
    if sasl_port is not None and keystore is not None:
        props.update(
            {
                "listener.name.sasl_ssl.sasl.enabled.mechanisms": SCRAM_MECHANISM,
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                ),
                # Kafka 4 reads PEM directly: no JKS/PKCS12 conversion, no keytool.
                "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
                "listener.name.sasl_ssl.ssl.keystore.location": str(keystore),
            }
        )
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _read_properties(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out


def _advertised(props: dict[str, str]) -> dict[str, str]:
    """Listener name -> host:port, from advertised.listeners."""
    out = {}
    for item in props.get("advertised.listeners", "").split(","):
        name, sep, address = item.partition("://")
        if sep:
            out[name] = address
    return out


def _formatted(workdir: Path) -> bool:
    return (workdir / "server.properties").exists() and (
        workdir / "logs" / "meta.properties"
    ).exists()


def scram_arguments(users: Mapping[str, str]) -> list[str]:
    """The storage tool's --add-scram arguments that create `users` at format time."""
    args: list[str] = []
    for name, password in users.items():
        if not name or not password or _SCRAM_UNSAFE & (set(name) | set(password)):
            # The message names the user only: the password must not reach a log.
            raise BrokerError(
                f"SCRAM user {name!r}: name and password must be non-empty, without "
                "spaces, quotes, backslashes, commas, '=' or brackets"
            )
        args += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
    return args


def private_key(keyfile: Path) -> str:
    """The key as Kafka's PEM keystore takes it: unencrypted PKCS#8, else a BrokerError."""
    key = keyfile.read_text()
    if "-----BEGIN PRIVATE KEY-----" not in key:
        raise BrokerError(
            f"{keyfile}: Kafka's PEM keystore needs an unencrypted PKCS#8 key "
            "(BEGIN PRIVATE KEY); convert with `openssl pkcs8 -topk8 -nocrypt`"
        )
    return key


def _write_keystore(workdir: Path, listener: SaslSslListener) -> Path:
    key = private_key(listener.keyfile)
    keystore = workdir / "tls" / "server-keystore.pem"
    keystore.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(keystore, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.rstrip() + "\n" + listener.certfile.read_text())
    return keystore


def _log_tail(workdir: Path, chars: int = 1500) -> str:
    parts = []
    for name in ("stdout.log", "kafka.log"):
        path = workdir / name
        if path.exists():
            parts.append(f"--- {name} ---\n{path.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts)


@dataclass
class LocalBroker:
    """A running single-node KRaft broker.

    `stop()` removes its folder unless `keep_data`; `start_broker(data_dir=workdir)`
    starts a broker again on data kept that way (or left by `kill()`).
    """

    bootstrap: str
    pid: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    # host:port of the TLS+SCRAM listener, when started with one.
    sasl_ssl_bootstrap: str | None = None
    keep_data: bool = False

    @property
    def log_file(self) -> Path:
        return self.workdir / "kafka.log"

    def stop(self, timeout: float = 30.0, *, keep_data: bool | None = None) -> None:
        """Stop by PID: SIGTERM for a clean shutdown, SIGKILL if it does not come.

        Then remove the broker's folder (storage, configuration, logs), unless kept
        (`keep_data` here, else the broker's own flag).
        """
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(self.pid, self.process):
            time.sleep(0.2)
        if _alive(self.pid, self.process):
            self.kill()
        self._reap()
        if not (self.keep_data if keep_data is None else keep_data):
            remove_workdir(self.workdir)

    def kill(self) -> None:
        """SIGKILL, as a crash: no clean shutdown, and the data stays for a restart."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            return
        # Not our child: wait (bounded) until the PID is gone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(self.pid, None):
            time.sleep(0.1)


def remove_workdir(workdir: Path) -> None:
    """Remove a broker's folder; only one that looks like a broker's (never a caller's typo)."""
    if (workdir / "server.properties").exists():
        shutil.rmtree(workdir, ignore_errors=True)


def _alive(pid: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_broker(
    max_message_bytes: int = 10 * 1024 * 1024,
    port: int | None = None,
    *,
    sasl_ssl: SaslSslListener | None = None,
    data_dir: Path | None = None,
    keep_data: bool = False,
) -> LocalBroker:
    """Start a broker and wait until it answers a metadata request.

    By default: fresh storage in a new temporary folder (`newswire-kafka-*`), formatted
    with the SCRAM users of `sasl_ssl` when given. With `data_dir` holding a broker's
    formatted storage (a broker stopped with `keep_data`, or killed), the broker starts
    on that data with its configuration and ports as they were, not formatted again.
    `LocalBroker.stop()` removes the folder unless `keep_data`.
    """
    if sasl_ssl is not None:
        # Bad users or a key Kafka cannot read fail here, before any slow step.
        scram_arguments(sasl_ssl.users)
        private_key(sasl_ssl.keyfile)
    libs = ensure_jars()
    java = _java()
    restart = data_dir is not None and _formatted(data_dir)
    if data_dir is None:
        workdir = Path(tempfile.mkdtemp(prefix="newswire-kafka-"))
    else:
        workdir = data_dir
        workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    props = workdir / "server.properties"
    log4j = workdir / "log4j2.properties"
    jvm = [
        java,
        "-Xms256m",
        "-Xmx1g",
        f"-Dlog4j2.configurationFile={log4j}",
        "-Djava.awt.headless=true",
        "-cp",
        f"{libs}/*",
    ]
    try:
        if restart:
            if sasl_ssl is not None:
                raise BrokerError("a restart keeps its listeners: no sasl_ssl with a data_dir")
            listeners = _advertised(_read_properties(props))
            if port is not None and listeners.get("PLAINTEXT") != f"127.0.0.1:{port}":
                raise BrokerError(f"{workdir} holds a broker on {listeners.get('PLAINTEXT')}")
        else:
            _format(jvm, workdir, port or free_port(), max_message_bytes, sasl_ssl)
            listeners = _advertised(_read_properties(props))
        out = (workdir / "stdout.log").open("ab")
        proc = subprocess.Popen(
            [*jvm, "kafka.Kafka", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
    except BaseException:
        # Kept data is never removed for a failed restart: it may be all there is.
        if data_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not keep_data and not restart:
            remove_workdir(workdir)
        raise
    broker = LocalBroker(
        listeners["PLAINTEXT"],
        proc.pid,
        workdir,
        proc,
        sasl_ssl_bootstrap=listeners.get("SASL_SSL"),
        keep_data=keep_data,
    )
    try:
        wait_until_ready(broker.bootstrap, START_TIMEOUT_S, proc)
    except BrokerError as exc:
        tail = _log_tail(workdir)
        broker.stop()
        raise BrokerError(f"{exc}\n{tail}") from exc
    except BaseException:
        broker.stop()
        raise
    (workdir / "broker.pid").write_text(str(proc.pid))
    log.info(
        "local Kafka %s at %s%s (pid %d, dir %s)",
        "restarted" if restart else "up",
        broker.bootstrap,
        f", SASL_SSL at {broker.sasl_ssl_bootstrap}" if broker.sasl_ssl_bootstrap else "",
        proc.pid,
        workdir,
    )
    return broker


def _format(
    jvm: list[str],
    workdir: Path,
    port: int,
    max_message_bytes: int,
    sasl_ssl: SaslSslListener | None,
) -> None:
    """Write the broker's configuration into `workdir` and format its storage."""
    props = workdir / "server.properties"
    sasl_port = keystore = None
    scram: list[str] = []
    if sasl_ssl is not None:
        scram = scram_arguments(sasl_ssl.users)
        keystore = _write_keystore(workdir, sasl_ssl)
        sasl_port = sasl_ssl.port or free_port()
    props.write_text(
        _server_properties(workdir, port, free_port(), max_message_bytes, sasl_port, keystore)
    )
    (workdir / "log4j2.properties").write_text(LOG4J2.format(log=workdir / "kafka.log"))
    # The SCRAM passwords are in this command line for the seconds the format takes
    # (the storage tool reads them nowhere else); the folder is private to this user.
    fmt = subprocess.run(
        [
            *jvm,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(props),
            *scram,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if fmt.returncode != 0:
        raise BrokerError(f"kafka storage format failed: {fmt.stdout[-1500:]}{fmt.stderr[-1500:]}")


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
