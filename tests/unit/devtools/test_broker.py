from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from services.common.errors import BrokerError
from services.devtools.broker import (
    SaslSslListener,
    _advertised,
    _server_properties,
    new_cluster_id,
    private_key,
    remove_workdir,
    scram_arguments,
    start_broker,
)


def test_cluster_ids_never_look_like_options() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_sasl_ssl_listener_beside_plaintext(tmp_path: Path) -> None:
    text = _server_properties(tmp_path, 9092, 9093, 1024, sasl_port=9094, keystore=tmp_path / "k")
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093"
    )
    assert _advertised(props) == {"PLAINTEXT": "127.0.0.1:9092", "SASL_SSL": "127.0.0.1:9094"}
    assert "SASL_SSL:SASL_SSL" in props["listener.security.protocol.map"].split(",")
    # Inter-broker and controller traffic stays on the loopback PLAINTEXT listeners.
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"
    assert props["listener.name.sasl_ssl.ssl.keystore.location"] == str(tmp_path / "k")


def test_plaintext_only_by_default(tmp_path: Path) -> None:
    text = _server_properties(tmp_path, 9092, 9093, 1024)
    assert "SASL" not in text and "ssl" not in text
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert _advertised(props) == {"PLAINTEXT": "127.0.0.1:9092"}


def test_scram_users_become_storage_tool_arguments() -> None:
    assert scram_arguments({"svc": "pa55-word_X", "ops": "other"}) == [
        "--add-scram",
        "SCRAM-SHA-512=[name=svc,password=pa55-word_X]",
        "--add-scram",
        "SCRAM-SHA-512=[name=ops,password=other]",
    ]


@pytest.mark.parametrize("password", ["a,b", "a]b", "a=b", 'a"b', "a b", "a\\b"])
def test_passwords_that_would_break_the_tool_are_refused_without_being_shown(
    password: str,
) -> None:
    with pytest.raises(BrokerError) as err:
        scram_arguments({"svc": password})
    assert "'svc'" in str(err.value)
    assert password not in str(err.value)


def test_empty_names_and_passwords_are_refused() -> None:
    for users in ({"svc": ""}, {"": "secret"}):
        with pytest.raises(BrokerError):
            scram_arguments(users)


def test_listener_repr_hides_passwords(tmp_path: Path) -> None:
    listener = SaslSslListener(tmp_path / "c", tmp_path / "k", {"svc": "hunter2-secret"})
    assert "hunter2-secret" not in repr(listener)
    assert "svc" not in repr(listener)


def test_only_an_unencrypted_pkcs8_key_is_accepted(tmp_path: Path) -> None:
    rsa = tmp_path / "rsa.key"
    rsa.write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(BrokerError, match="PKCS#8"):
        private_key(rsa)
    encrypted = tmp_path / "enc.key"
    encrypted.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    with pytest.raises(BrokerError, match="PKCS#8"):
        private_key(encrypted)
    good = tmp_path / "good.key"
    good.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert private_key(good).startswith("-----BEGIN PRIVATE KEY-----")


def test_remove_workdir_removes_only_a_brokers_folder(tmp_path: Path) -> None:
    mine = tmp_path / "newswire-kafka-x"
    (mine / "logs").mkdir(parents=True)
    (mine / "server.properties").write_text("node.id=1\n")
    other = tmp_path / "not-a-broker"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    remove_workdir(mine)
    remove_workdir(other)
    assert not mine.exists()
    assert (other / "precious.txt").read_text() == "keep me"


def test_a_bad_sasl_listener_fails_before_any_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    listener = SaslSslListener(tmp_path / "c", tmp_path / "k", {"svc": "has,comma"})
    with pytest.raises(BrokerError):
        start_broker(sasl_ssl=listener)
    assert list(tmp_path.iterdir()) == []
