"""robots.txt: fetched once per host, cached, consulted before every page fetch (RFC 9309).

The matcher is our own, not protego's (0.7.0, which follows RFC 9309): run on this module's
tests and RFC 9309's examples (`python -m services.devtools.libcompare`, 65 cases that
matter), protego fails three of this module's tests. It does not skip a UTF-8 BOM, so a
robots.txt saved with one loses its first line (there, a group's User-agent); it matches a
User-agent value as written, so `User-agent: newswirebot/2.0` does not name NewswireBot
(RFC 9309 2.2.1 matches the product token, as Google's parser does); and it combines only
groups spelt alike, with the last Crawl-delay where this module takes the first of the
agent's groups. It also reads `Allow: /index.html` as allowing `/` (Google's extension, not
RFC 9309). Where protego was right and this module was not, this module was fixed: a rule's
`%2A` and `%24` are a path's literal `*` and `$` (RFC 9309 2.2.3). What a 4xx, 5xx or
unreachable robots.txt means (RFC 9309 2.3.1) is RobotsCache's either way.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.common import metrics
from services.common.errors import FetchError, HttpStatusError, RobotsDisallowedError
from services.fetcher.net.http import HttpClient

MAX_HOSTS = 10_000
# A server error or unreachable robots.txt means "assume complete disallow" (RFC 9309
# 2.3.1.4), but only for a while: retry sooner than a successful answer's lifetime.
UNREACHABLE_TTL_S = 600.0

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What RFC 9309 2.2.2 has compared as it is: an escape, or a character RFC 3986 allows in a
# URI (unreserved, reserved, which includes the `*` and `$` of patterns). Anything else is
# a character to percent-encode (non-ASCII as UTF-8 octets), or a stray `%` (as `%25`).
_TO_NORMALISE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]")
# Ends the product token of a User-agent line's value ("Googlebot" of "Googlebot/2.1").
_NOT_TOKEN = re.compile(r"[^A-Za-z_-]")


def _normalise_one(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 3 and text[0] == "%":
        char = chr(int(text[1:], 16))
        # An escaped unreserved character is the character; any other escape must stay one
        # (`%2F` is not a path separator), with its hex upper-cased so spellings compare equal.
        return char if char in _UNRESERVED else text.upper()
    return "".join(f"%{octet:02X}" for octet in text.encode("utf-8", "replace"))


def normalise(path: str) -> str:
    """A URL path or a rule's pattern, percent-encoded as RFC 9309 2.2.2 compares them."""
    return _TO_NORMALISE.sub(_normalise_one, path)


def normalise_pattern(pattern: str) -> str:
    """A rule's pattern, normalised: its `*` are wildcards and a final `$` the end of the
    path; a `$` anywhere else is the character, spelt `%24` as in paths (RFC 9309 2.2.3)."""
    text = normalise(pattern)
    anchored = text.endswith("$")
    text = (text[:-1] if anchored else text).replace("$", "%24")
    return text + "$" if anchored else text


def pattern_matches(pattern: str, path: str) -> bool:
    """Whether a rule matches the start of `path`: `*` is any run of characters, a final `$`
    the end of the path. Segments are found leftmost-first, which is linear and exact for
    `*`-only globs (a regex here would backtrack badly on a hostile pattern)."""
    anchored = pattern.endswith("$")
    parts = (pattern[:-1] if anchored else pattern).split("*")
    if not path.startswith(parts[0]):
        return False
    pos = len(parts[0])
    if len(parts) == 1:
        return not anchored or pos == len(path)
    for part in parts[1:-1]:
        found = path.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    if anchored:
        return len(path) - len(parts[-1]) >= pos and path.endswith(parts[-1])
    return path.find(parts[-1], pos) >= 0


@dataclass(frozen=True)
class Rule:
    allow: bool
    pattern: str  # normalised


def is_allowed(rules: Iterable[Rule], path: str) -> bool:
    """RFC 9309 2.2.2: the longest matching pattern decides, Allow winning a tie; no match
    allows. `path` is normalised."""
    best, allowed = -1, True
    for rule in rules:
        size = len(rule.pattern)
        if (size > best or (size == best and rule.allow)) and pattern_matches(rule.pattern, path):
            best, allowed = size, rule.allow
    return allowed


def path_of(url: str) -> str:
    """What rules match against: the URL's path and query, normalised."""
    parts = urlsplit(url)
    path = parts.path or "/"
    # A path's `*` and `$` are characters, which a rule writes `%2A` and `%24` (RFC 9309
    # 2.2.3: "allow: /path/file-with-a-%2A.html" matches /path/file-with-a-*.html).
    path = normalise(f"{path}?{parts.query}" if parts.query else path)
    return path.replace("*", "%2A").replace("$", "%24")


@dataclass
class Group:
    agents: list[str] = field(default_factory=list)  # product tokens, lower case, or "*"
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None


def _crawl_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


def _agent_token(value: str) -> str:
    first = value.split(maxsplit=1)[0] if value else ""
    return "*" if first == "*" else _NOT_TOKEN.split(first, maxsplit=1)[0].lower()


def parse_groups(text: str) -> list[Group]:
    """The groups of a robots.txt (RFC 9309 2.1): one or more User-agent lines, then the
    lines that apply to them. Lines before any User-agent, and unknown lines, are ignored."""
    groups: list[Group] = []
    open_agents = False  # the last group line was a User-agent: the next one joins it
    for raw in text.removeprefix("\ufeff").splitlines():
        key, colon, value = raw.split("#", 1)[0].partition(":")
        key, value = key.strip().lower(), value.strip()
        if not colon:
            continue
        if key == "user-agent":
            if not open_agents:
                groups.append(Group())
            open_agents = True
            groups[-1].agents.append(_agent_token(value))
        elif groups and key in ("allow", "disallow", "crawl-delay"):
            open_agents = False
            if key == "crawl-delay":
                if groups[-1].crawl_delay is None:
                    groups[-1].crawl_delay = _crawl_delay(value)
            elif value:  # an empty Disallow matches nothing
                groups[-1].rules.append(Rule(key == "allow", normalise_pattern(value)))
    return groups


def select_groups(groups: list[Group], agent: str) -> list[Group]:
    """The groups that apply to `agent` (RFC 9309 2.2.1): every group naming its product
    token, case-insensitively, else every `*` group, else none. Their rules combine."""
    token = agent.lower()
    named = [g for g in groups if token in g.agents]
    return named or [g for g in groups if "*" in g.agents]


@dataclass
class Rules:
    groups: list[Group]  # no groups: everything allowed
    disallow_all: bool
    fetched_at: float
    ttl_s: float

    def allows(self, agent: str, url: str) -> bool:
        if self.disallow_all:
            return False
        path = path_of(url)
        if path == "/robots.txt":
            return True  # RFC 9309 2.2.2: implicitly allowed
        return is_allowed((r for g in select_groups(self.groups, agent) for r in g.rules), path)

    def crawl_delay(self, agent: str) -> float | None:
        """The first Crawl-delay among the agent's groups (not in RFC 9309, but widely used)."""
        groups = select_groups(self.groups, agent)
        return next((g.crawl_delay for g in groups if g.crawl_delay is not None), None)


def parse_rules(text: str, ttl_s: float) -> Rules:
    return Rules(parse_groups(text), False, time.monotonic(), ttl_s)


def product_token(user_agent: str) -> str:
    """The name robots.txt groups match against: `NewswireBot` of `NewswireBot/0.1 (+url)`."""
    return user_agent.split("/")[0].split()[0] if user_agent.strip() else "*"


class RobotsCache:
    """Per-host rules with a bounded, least-recently-used cache."""

    def __init__(
        self, client: HttpClient, user_agent: str, ttl_s: float, max_fetches: int | None = None
    ) -> None:
        self._client = client
        self._agent = product_token(user_agent)
        self._ttl_s = ttl_s
        self._rules: OrderedDict[str, Rules] = OrderedDict()
        # Fetches at once: every new host's first page asks for its robots.txt, and a
        # backlog of new hosts would otherwise queue hundreds for the connection pool,
        # where the wait counts against their timeout (a timeout disallows the host).
        # Its own semaphore, not the page requests': a redirect's robots.txt is asked
        # for while a page request holds its slot.
        self._fetches = asyncio.Semaphore(max_fetches) if max_fetches else None

    async def rules_for(self, url: str) -> Rules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._rules.get(origin)
        if cached is not None and time.monotonic() - cached.fetched_at < cached.ttl_s:
            self._rules.move_to_end(origin)
            return cached
        rules = await self._fetch(origin)
        self._rules[origin] = rules
        self._rules.move_to_end(origin)
        while len(self._rules) > MAX_HOSTS:
            self._rules.popitem(last=False)
        return rules

    async def _fetch(self, origin: str) -> Rules:
        if self._fetches is None:
            return await self._fetch_now(origin)
        async with self._fetches:
            return await self._fetch_now(origin)

    async def _fetch_now(self, origin: str) -> Rules:
        now = time.monotonic()
        try:
            resp = await self._client.get(f"{origin}/robots.txt", kind="robots")
        except HttpStatusError as exc:
            if 400 <= exc.status < 500:
                return Rules([], False, now, self._ttl_s)  # no robots.txt: all allowed
            return Rules([], True, now, UNREACHABLE_TTL_S)
        except FetchError as exc:
            if exc.reason == "blocked_address":
                # The SSRF guard refused the host: that is the page's failure, not an
                # unreachable robots.txt (which would read as "disallowed", and a
                # robots refusal lets the article come from the feed: fetcher/fallback.py).
                raise
            if exc.reason == "too_large":
                return Rules([], False, now, self._ttl_s)
            return Rules([], True, now, UNREACHABLE_TTL_S)
        return parse_rules(resp.body.decode("utf-8", "replace"), self._ttl_s)

    async def check(self, url: str) -> float | None:
        """Raise RobotsDisallowedError if `url` may not be fetched; else the host's Crawl-delay."""
        rules = await self.rules_for(url)
        if not rules.allows(self._agent, url):
            metrics.ROBOTS_REFUSALS.inc()
            raise RobotsDisallowedError(f"robots.txt disallows {url} for {self._agent}")
        return rules.crawl_delay(self._agent)
