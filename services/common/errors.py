"""One hierarchy for every error Newswire raises on purpose.

Each error carries a `reason`: a short fixed word used as a metric label and in
dead-letter records, so operators can group failures without parsing messages.
"""

from __future__ import annotations


class NewswireError(Exception):
    """Base of every deliberate Newswire error."""

    reason: str = "internal"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ConfigError(NewswireError):
    reason = "config"


class BrokerError(NewswireError):
    """The local broker could not be fetched, started or reached."""

    reason = "broker"


class DecodeError(NewswireError):
    """A record's bytes are not the JSON its topic promises."""

    reason = "decode"


class SchemaError(DecodeError):
    """A record is JSON but does not match its topic's contract."""

    reason = "schema"


class RecordTooLargeError(NewswireError):
    """An output record would exceed the broker's message size limit."""

    reason = "too_large"


class FetchError(NewswireError):
    """Any failure to get a feed or page over HTTP."""

    reason = "fetch"


class BlockedAddressError(FetchError):
    """The URL resolves to an address the fetcher is not allowed to reach."""

    reason = "blocked_address"


class HttpStatusError(FetchError):
    reason = "http_status"

    def __init__(self, message: str, *, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class RobotsDisallowedError(FetchError):
    """robots.txt of the host does not allow our user agent to fetch the URL."""

    reason = "robots"


class TooLargeError(FetchError):
    reason = "too_large"


class UnsupportedContentError(FetchError):
    reason = "content_type"


class FeedParseError(NewswireError):
    reason = "feed_parse"


class ExtractionError(NewswireError):
    """The cleaner could not get article text out of a page."""

    reason = "extract"


class NoContentError(ExtractionError):
    reason = "no_content"


class ExtractionTimeoutError(ExtractionError):
    """Extraction of one page ran past the cleaner's per-document time limit."""

    reason = "timeout"


class PageTooDeepError(ExtractionError):
    """The page nests elements deeper than the HTML parser keeps (the rest would be lost)."""

    reason = "too_deep"


class WorkerCrashedError(ExtractionError):
    """The extraction process died on a page (a crash in native code, or out of memory)."""

    reason = "worker_crashed"


class ArchiveRecordError(NewswireError):
    """A WARC or ARC record `newswire backfill` cannot read (bad headers, cut short)."""

    reason = "warc_record"
