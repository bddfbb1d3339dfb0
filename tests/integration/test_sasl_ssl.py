"""Newswire over SASL_SSL with SCRAM-SHA-512, against a local broker with a TLS+SCRAM listener.

The certificates (a CA and a server certificate for 127.0.0.1/localhost) are made here
with the machine's openssl. A real cleaner process and Newswire's own admin, producer
and consumer helpers talk to the broker over TLS with a SCRAM login; a wrong password
is refused with a message that says so; and no log of the run, the broker's included,
holds the password or the metrics token, plain or in base64.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.errors import ConfigError
from services.common.kafka import ensure_topics, producer
from services.common.models import Entry, Page, encode
from services.common.settings import Settings
from services.common.topicread import read_topic
from services.devtools.broker import LocalBroker, SaslSslListener, start_broker
from services.devtools.stack import Stack
from tests.conftest import SEED_HTML, validate_record

USER = "newswire-svc"
# The server certificate's extensions: what Python's default (strict) verification needs.
SERVER_EXT = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
"""


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> Tls:
    """A throw-away CA and a server certificate it signed, for 127.0.0.1 and localhost."""

    def openssl(*args: str) -> None:
        done = subprocess.run(
            ["openssl", *args], cwd=folder, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=newswire-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
    )  # fmt: skip
    (folder / "server.ext").write_text(SERVER_EXT)
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem",
    )  # fmt: skip
    return Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")


@dataclass
class SecureBroker:
    broker: LocalBroker
    tls: Tls
    password: str

    @property
    def bootstrap(self) -> str:
        assert self.broker.sasl_ssl_bootstrap
        return self.broker.sasl_ssl_bootstrap

    def settings(self, password: str | None = None) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username=USER,
            kafka_sasl_password=password or self.password,
            kafka_ssl_cafile=self.tls.ca,
        )

    def env(self, password: str | None = None) -> dict[str, str]:
        return {
            "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "NEWSWIRE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "NEWSWIRE_KAFKA_SASL_USERNAME": USER,
            "NEWSWIRE_KAFKA_SASL_PASSWORD": password or self.password,
            "NEWSWIRE_KAFKA_SSL_CAFILE": str(self.tls.ca),
        }


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    tls = make_certificates(tmp_path_factory.mktemp("tls"))
    password = secrets.token_urlsafe(24)
    listener = SaslSslListener(tls.cert, tls.key, {USER: password})
    broker = start_broker(sasl_ssl=listener)
    try:
        yield SecureBroker(broker, tls, password)
    finally:
        broker.stop()
    assert not broker.workdir.exists(), "the broker's folder outlived its stop"


@pytest.fixture
def captured_log(tmp_path: Path) -> Iterator[Path]:
    """This process's own log records of the test, every level, in a file."""
    path = tmp_path / "test-process.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    quieted = {name: logging.getLogger(name).level for name in ("aiokafka", "aiokafka.conn")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in quieted:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in quieted.items():
            logging.getLogger(name).setLevel(level)
        handler.close()


def one_page(run: str) -> Page:
    url = f"http://secure-{run}.example/story/1"
    entry = Entry(entry_id=f"{run}-1", feed_url=f"http://secure-{run}.example/feed", link=url)
    return Page.direct(f"{run}-001", entry, SEED_HTML.read_text(), "text/html")


async def send(settings: Settings, page: Page) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        await prod.send_and_wait("newswire.pages", key=page.article_id.encode(), value=encode(page))
    finally:
        await prod.stop()


def secret_forms(secret: str) -> set[str]:
    """The secret as it could show up in a log: itself and its base64 (a SASL PLAIN blob too)."""
    forms = {secret}
    for raw in (secret.encode(), f"\0{USER}\0{secret}".encode()):
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms.add(encoded.decode())
            forms.add(encoded.decode().rstrip("="))
    return forms


def test_settings_never_show_the_password() -> None:
    password = secrets.token_urlsafe(24)
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=USER,
        kafka_sasl_password=password,
    )
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == password
    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())]
    for text in shown:
        assert password not in text
        assert "sasl_password" in text and "**********" in text


def test_services_work_over_sasl_ssl_and_no_log_holds_a_secret(
    secure_broker: SecureBroker, tmp_path: Path, captured_log: Path
) -> None:
    metrics_token = secrets.token_urlsafe(24)
    settings = secure_broker.settings()
    run = uuid.uuid4().hex[:8]
    page = one_page(run)

    # Newswire's own admin helper declares the topics over TLS+SCRAM.
    asyncio.run(ensure_topics(settings))

    stack = Stack(secure_broker.bootstrap, seeds_url="http://127.0.0.1:9", run_dir=tmp_path)
    # The run with the wrong password logs into a folder of its own.
    (tmp_path / "wrong").mkdir()
    wrong_stack = Stack(stack.bootstrap, stack.seeds_url, run_dir=tmp_path / "wrong")
    secret_env = {**secure_broker.env(), "NEWSWIRE_METRICS_TOKEN": metrics_token}
    try:
        # debug: the most a service ever logs, so the most chances to leak.
        cleaner = stack.start_service("cleaner", {**secret_env, "NEWSWIRE_LOG_LEVEL": "debug"})
        asyncio.run(send(settings, page))
        deadline = time.monotonic() + 180
        articles: list[dict[str, object]] = []
        while time.monotonic() < deadline and not articles:
            assert cleaner.alive(), cleaner.log.read_text()[-3000:]
            records = asyncio.run(read_topic(settings, "newswire.articles", timeout=2.0))
            articles = [r for r in records if r["key"] == page.article_id]
        assert articles, f"no article over SASL_SSL: {cleaner.log.read_text()[-3000:]}"
        validate_record("newswire.articles", articles[0]["value"])
        assert stack.stop_service("cleaner", sig=signal.SIGTERM, timeout=60) == 0

        # A wrong password: the service stops, saying the broker refused the login.
        wrong = wrong_stack.start_service(
            "cleaner", {**secret_env, **secure_broker.env("not-" + secure_broker.password)}
        )
        assert wrong.popen.wait(timeout=180) != 0
        refused = wrong.log.read_text()
        assert f"refused the SCRAM-SHA-512 login of user '{USER}'" in refused, refused[-3000:]
    finally:
        stack.stop()
        wrong_stack.stop()

    # The same refusal from Newswire's helper, in this process.
    with pytest.raises(ConfigError, match="refused the SCRAM-SHA-512 login"):
        asyncio.run(ensure_topics(secure_broker.settings("not-" + secure_broker.password)))

    logs = {
        "test process": captured_log.read_text(),
        "cleaner": (tmp_path / "cleaner.log").read_text(),
        "cleaner, wrong password": (tmp_path / "wrong" / "cleaner.log").read_text(),
        "broker": secure_broker.broker.log_file.read_text(),
        "broker stdout": (secure_broker.broker.workdir / "stdout.log").read_text(),
    }
    # The capture is real: the test's SCRAM logins, the cleaner's work over SASL_SSL at
    # debug level and its refusal, the broker's SASL_SSL listener.
    assert f"Authenticated as {USER} via SCRAM-SHA-512" in logs["test process"]
    assert "assigned: " in logs["cleaner"]
    assert "SASL_SSL" in logs["broker"]
    secrets_ = secret_forms(secure_broker.password) | secret_forms(metrics_token)
    for name, text in logs.items():
        leaked = [s for s in secrets_ if s in text]
        assert not leaked, f"a secret is in the {name} log"
