"""robots.txt: fetched once per host, cached, consulted before every page fetch (RFC 9309)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from services.common import metrics
from services.common.errors import FetchError, HttpStatusError, RobotsDisallowedError
from services.fetcher.http import HttpClient

MAX_HOSTS = 10_000
# A server error or unreachable robots.txt means "assume complete disallow" (RFC 9309
# 2.3.1.4), but only for a while: retry sooner than a successful answer's lifetime.
UNREACHABLE_TTL_S = 600.0


@dataclass
class Rules:
    parser: RobotFileParser | None  # None: everything allowed
    disallow_all: bool
    fetched_at: float
    ttl_s: float

    def allows(self, agent: str, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None


def parse_rules(text: str, ttl_s: float) -> Rules:
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return Rules(parser, False, time.monotonic(), ttl_s)


def product_token(user_agent: str) -> str:
    """The name robots.txt groups match against: `NewswireBot` of `NewswireBot/0.1 (+url)`."""
    return user_agent.split("/")[0].split()[0] if user_agent.strip() else "*"


class RobotsCache:
    """Per-host rules with a bounded, least-recently-used cache."""

    def __init__(self, client: HttpClient, user_agent: str, ttl_s: float) -> None:
        self._client = client
        self._agent = product_token(user_agent)
        self._ttl_s = ttl_s
        self._rules: OrderedDict[str, Rules] = OrderedDict()

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
        now = time.monotonic()
        try:
            resp = await self._client.get(f"{origin}/robots.txt", kind="robots")
        except HttpStatusError as exc:
            if 400 <= exc.status < 500:
                return Rules(None, False, now, self._ttl_s)  # no robots.txt: all allowed
            return Rules(None, True, now, UNREACHABLE_TTL_S)
        except FetchError as exc:
            if exc.reason == "too_large":
                return Rules(None, False, now, self._ttl_s)
            return Rules(None, True, now, UNREACHABLE_TTL_S)
        return parse_rules(resp.body.decode("utf-8", "replace"), self._ttl_s)

    async def check(self, url: str) -> float | None:
        """Raise RobotsDisallowedError if `url` may not be fetched; else the host's Crawl-delay."""
        rules = await self.rules_for(url)
        if not rules.allows(self._agent, url):
            metrics.ROBOTS_REFUSALS.inc()
            raise RobotsDisallowedError(f"robots.txt disallows {url} for {self._agent}")
        return rules.crawl_delay(self._agent)
