"""Canonical URLs and article ids: the identity every stage keys on."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader, never select content.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_hsenc|_hsmi|"
    r"mkt_tok|igshid|ref_src|cmpid|ocid|__twitter_impression|s_cid|sr_share|at_medium|at_campaign)$",
    re.IGNORECASE,
)
DEFAULT_PORTS = {"http": 80, "https": 443}
ARTICLE_ID_BYTES = 16


def canonical_url(url: str) -> str:
    """Normalise a URL so that the same article always gets the same string.

    Lower-cases scheme and host, drops default ports, fragments and tracking
    parameters, sorts the remaining query and removes a trailing slash on
    non-root paths.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMS.match(k)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def article_id(url: str) -> str:
    """A stable id: the first 128 bits of SHA-256 of the canonical URL, in hex."""
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[: ARTICLE_ID_BYTES * 2]


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host
