"""A page record made from the feed entry, for an article whose page is not requested
(the feed's `pages` mode) or cannot be had. Pure: no network, no Kafka."""

from __future__ import annotations

from datetime import datetime

from services.common.errors import HttpStatusError, NewswireError
from services.common.models import Entry, Page, utcnow
from services.common.urls import article_id

# Page failures after which the article is taken from the feed: the page exists but is
# not to be had by this fetcher (paywall and block statuses, robots.txt, timeouts,
# connection and TLS errors, a redirect loop, a body too large or not a page at all).
FALLBACK_REASONS = frozenset(
    {
        "http_status",
        "robots",
        "timeout",
        "connect",
        "fetch",
        "redirects",
        "too_large",
        "content_type",
    }
)
# Not among them, on purpose:
# - blocked_address: the SSRF guard refused the link. A feed pointing at a private
#   address is hostile or misconfigured; its text is no article to pass on.
# - bad_url: the link is no web address, so there is no article URL or id to key by.
# - internal: a bug of ours; the dead letter alone keeps it in sight.
# 404 and 410 say the publisher removed the article (often on purpose: a retraction or
# a legal takedown); the feed's stale copy must not bring it back.
GONE_STATUSES = frozenset({404, 410})


def falls_back(exc: BaseException) -> bool:
    """Whether a page failure lets the article come from the feed entry instead."""
    if not isinstance(exc, NewswireError) or exc.reason not in FALLBACK_REASONS:
        return False
    return not (isinstance(exc, HttpStatusError) and exc.status in GONE_STATUSES)


def feed_page(
    entry: Entry, *, status: int = 0, page_error: str | None = None, now: datetime | None = None
) -> Page | None:
    """The entry's content (else its summary) as a page record; None when it has neither.

    The cleaner cleans a `feed_content` body like a page and reads a `feed_summary`
    body as text; `status` is the page's HTTP status when it answered one.
    """
    if entry.content:
        body, source, content_type = entry.content, "feed_content", "text/html"
    elif entry.summary:
        body, source = entry.summary, "feed_summary"
        content_type = "text/html" if "<" in body else "text/plain"
    else:
        return None
    now = now or utcnow()
    return Page(
        article_id=article_id(entry.link),
        url=entry.link,
        final_url=entry.link,
        status=status,
        content_type=content_type,
        charset="utf-8",
        body=body,
        body_bytes=len(body.encode("utf-8", "surrogatepass")),
        fetched_at=now,
        body_source=source,
        page_error=page_error,
        entry=entry,
        trace=entry.trace.model_copy(update={"fetched_at": now}).stamped("fetcher", now),
    )


def status_of(exc: BaseException) -> int:
    """The page's HTTP status for a failure that had one, else 0 (no answer)."""
    return exc.status if isinstance(exc, HttpStatusError) else 0
