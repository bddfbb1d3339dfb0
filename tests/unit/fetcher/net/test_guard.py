"""The SSRF guard (net.guard): which addresses are refused, in every form, before any
connection, also on a redirect hop."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.errors import BlockedAddressError, FetchError
from services.fetcher.net import guard
from services.fetcher.net.guard import check_host_literal, is_blocked
from tests.unit.fetcher.misbehaving import Servers, fetch, small_settings

PRIVATE_TARGETS = [
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1:8080/admin",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://0.0.0.0/",
    "http://127.0.0.2/",
    "http://localhost/",
    "http://0xa9.0xfe.0xa9.0xfe/",  # hex: resolved by getaddrinfo, no DNS query
    "http://0xa.1/",
    "http://012.0.0.1/",  # octal
    "http://167772161/",  # decimal 10.0.0.1
    "http://169.254.169.254./",
]


@settings(database=None, max_examples=len(PRIVATE_TARGETS), deadline=None)
@given(target=st.sampled_from(PRIVATE_TARGETS), port=st.sampled_from(["", ":80", ":8080"]))
def test_private_targets_are_refused_before_any_connection(target: str, port: str) -> None:
    parts = urlsplit(target)
    if port and parts.port is None:
        target = target.replace(parts.netloc, parts.netloc + port, 1)
    outcome, attempts, _ = fetch(target, small_settings(allow_private_networks=False))
    assert attempts == []  # nothing was even tried, let alone sent
    assert isinstance(outcome, FetchError), outcome
    assert outcome.reason in ("blocked_address", "fetch", "bad_url"), outcome


@pytest.mark.parametrize(
    "target",
    [
        "http://[::a9fe:a9fe]/",  # ::169.254.169.254
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 169.254.169.254
        "http://[64:ff9b::a00:1]/",  # NAT64 10.0.0.1
        "http://[2002:a00:1::1]/",  # 6to4 10.0.0.1
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(target: str) -> None:
    outcome, attempts, _ = fetch(target, small_settings(allow_private_networks=False))
    assert attempts == []  # the spy refused these, nothing left the machine either way
    assert isinstance(outcome, FetchError) and outcome.reason == "blocked_address", outcome


@pytest.fixture
def loopback_is_public() -> Iterator[None]:
    """Pretend 127.0.0.1 is a public server, so that a client that refuses private
    networks can reach the test server and be redirected from it."""
    real = guard.is_blocked

    def is_blocked(address: str, *, allow_private: bool) -> bool:
        return False if address == "127.0.0.1" else real(address, allow_private=allow_private)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(guard, "is_blocked", is_blocked)
        yield


@settings(
    database=None,
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(target=st.sampled_from([t for t in PRIVATE_TARGETS if "localhost" not in t]))
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    servers: Servers, loopback_is_public: None, target: str
) -> None:
    url = f"{servers.base}/to?url={quote(target, safe='')}"
    outcome, attempts, _ = fetch(url, small_settings(allow_private_networks=False))
    assert isinstance(outcome, FetchError), outcome
    assert outcome.reason in ("blocked_address", "fetch", "bad_url"), outcome
    port = int(servers.base.rsplit(":", 1)[1])
    assert attempts and all(a == ("127.0.0.1", port) for a in attempts), attempts


@settings(database=None, max_examples=8, deadline=None)
@given(
    target=st.sampled_from(
        [
            "file:///etc/passwd",
            "gopher://127.0.0.1:25/",
            "ftp://127.0.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "javascript:alert(1)",
            "http:///nohost",
        ]
    )
)
def test_redirect_targets_refused_even_when_private_networks_are_allowed(
    servers: Servers, target: str
) -> None:
    outcome, attempts, _ = fetch(
        f"{servers.base}/to?url={quote(target, safe='')}", small_settings()
    )
    assert isinstance(outcome, FetchError), outcome
    port = int(servers.base.rsplit(":", 1)[1])
    assert all(a == ("127.0.0.1", port) for a in attempts), attempts


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.4", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("fd00::1", True),
        ("0.0.0.0", True),
        ("::ffff:127.0.0.1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_guard_refuses_non_public_addresses(address: str, blocked: bool) -> None:
    assert is_blocked(address, allow_private=False) is blocked


def test_guard_allows_loopback_only_when_configured() -> None:
    assert is_blocked("127.0.0.1", allow_private=True) is False
    assert is_blocked("0.0.0.0", allow_private=True) is True
    with pytest.raises(BlockedAddressError):
        check_host_literal("127.0.0.1", allow_private=False)
    check_host_literal("news.example", allow_private=False)  # names are checked when resolved
