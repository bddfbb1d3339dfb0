"""Page record in, article record out: the cleaner's whole job as one transform.

It takes the cleaner's group of the settings and returns an `Outcome`: the article record,
a page failure among the outputs when the article came from the feed instead, and what it
counted. The stage around it (services.common.stage) dead-letters, logs and counts.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime
from functools import partial
from urllib.parse import urljoin

from services.cleaner import feedbody
from services.cleaner.extract import Extracted, extract
from services.cleaner.markdown import drop_removed
from services.cleaner.sitelearn import LearnSettings, SiteProfile, apply
from services.cleaner.workers import shared_pool
from services.common.errors import ExtractionError, NoContentError
from services.common.models import Article, BodySource, MetadataSource, Page, decode, encode
from services.common.settings import CleanerSettings
from services.common.stage import Counts, Failure, Outcome, Output
from services.common.topics import ARTICLES
from services.common.urls import host_of

STAGE = "cleaner"

# What runs in the worker process: page body and content type in, Extracted out.
Extractor = Callable[..., Extracted]


def extraction(
    page: Page, config: CleanerSettings, extractor: Extractor = extract
) -> Callable[[], Extracted]:
    """The extraction of `page` as a picklable call, for a worker process."""
    return partial(
        extractor,
        page.body,
        page.content_type,
        max_chars=config.max_page_chars,
        markdown=config.markdown,
    )


def _host(url: str) -> str | None:
    """The URL's host, None for none; a record's URL that urlsplit refuses ("http://[x",
    a port that is no number) is no host, not a crash (`make fuzz` found both)."""
    try:
        return host_of(url) or None
    except ValueError:
        return None


def _join(base: str, ref: str | None) -> str | None:
    """`ref` (a canonical or image URL the page states) made absolute; None for none, or
    for one urljoin refuses: a bad hint costs the field, not the article."""
    if not ref:
        return None
    try:
        return urljoin(base, ref)
    except ValueError:
        return None


def article_from(page: Page, ext: Extracted) -> Article:
    """The article record: what the page says, the feed entry where the page says nothing."""
    entry = page.entry
    sources: dict[str, MetadataSource] = dict(ext.sources)

    def fallback(name: str, ours: object, theirs: object) -> None:
        if not ours and theirs:
            sources[name] = "feed"

    def date(name: str, ours: datetime | None, theirs: datetime | None) -> datetime | None:
        # A date the page states in its markup wins; the feed's beats one guessed from
        # the page's text (htmldate picks a sidebar's or a comment's date at times).
        if theirs is not None and (ours is None or ext.sources.get(name) == "text"):
            sources[name] = "feed"
            return theirs
        return ours

    fallback("title", ext.title, entry.title)
    fallback("authors", ext.authors, entry.authors)
    published = date("published", ext.published, entry.published)
    modified = date("modified", ext.modified, entry.updated)
    authors = ext.authors or list(entry.authors)
    byline = ext.byline or (", ".join(entry.authors) if entry.authors else None)
    site = ext.site or _host(page.final_url)
    if not ext.site and site:
        sources["site"] = "url"
    canonical = _join(page.final_url, ext.canonical_url)
    return Article(
        id=page.article_id,
        url=page.final_url,
        canonical_url=canonical,
        feed_url=entry.feed_url,
        site=site,
        title=ext.title or entry.title,
        byline=byline,
        authors=authors,
        published=published,
        modified=modified,
        language_hint=ext.language_hint,
        top_image=_join(page.final_url, ext.top_image),
        section=ext.section,
        tags=ext.tags,
        metadata_sources=dict(sorted(sources.items())),
        text=ext.text,
        paragraphs=ext.paragraphs,
        markdown=ext.markdown,
        removed_lines=ext.removed,
        trace=page.trace.stamped(STAGE),
    )


def learn_site(article: Article, sites: MutableMapping[str, str], cfg: LearnSettings) -> Article:
    """Drop the lines this article's host repeats on most pages; remember this page's lines."""
    host = _host(article.url)
    if not host:
        return article
    stored = sites.get(host)
    profile = SiteProfile.model_validate_json(stored) if stored else SiteProfile()
    kept, removed, updated = apply(profile, article.id, article.paragraphs, cfg)
    sites[host] = updated.model_dump_json()
    if not removed:
        return article
    counts = {**article.removed_lines, "site_template": removed}
    update: dict[str, object] = {
        "paragraphs": kept,
        "text": "\n\n".join(kept),
        "removed_lines": counts,
    }
    if article.markdown is not None:
        update["markdown"] = drop_removed(article.markdown, article.paragraphs, kept)
    return article.model_copy(update=update)


async def feed_article(page: Page, source: BodySource, config: CleanerSettings) -> Article:
    """The article from the page's feed entry: its content cleaned like a page (in a
    worker process, under the same time limit), or its summary as text."""
    entry = page.entry
    ext: Extracted | None = None
    if source == "feed_content" and entry.content:
        pool = shared_pool(config.workers)
        call = partial(
            feedbody.extract_feed_content,
            entry.content if page.body_source == "page" else page.body,
            entry.title,
            max_chars=config.max_page_chars,
            markdown=config.markdown,
        )
        try:
            ext = await pool.run(call, timeout=config.timeout_seconds)
        except NoContentError:
            if not entry.summary:
                raise
            source = "feed_summary"
    if ext is None:
        summary = entry.summary if page.body_source == "page" else (entry.summary or page.body)
        if not summary:
            raise NoContentError("the feed entry has no content or summary")
        ext = feedbody.extract_summary(summary, markdown=config.markdown)
        source = "feed_summary"
    article = article_from(page, ext)
    return article.model_copy(update={"body_source": source})


async def handle_page(
    raw: bytes | None,
    config: CleanerSettings,
    sites: MutableMapping[str, str] | None = None,
    *,
    extractor: Extractor = extract,
) -> Outcome:
    """A page record to its article. A page the fetcher made from the feed entry is
    cleaned as such. A fetched page that gives no article (any ExtractionError: no main
    text, a timeout, too deep, a crashed worker) is a failure the stage dead-letters
    and, when the entry has content or a summary, the article comes from that (the
    failure then stands beside it among the outputs); a failure to decode the record is
    no page, and stays a dead letter alone."""
    counts = Counts()
    try:
        made = await page_article(raw, config, extractor)
    except ExtractionError as exc:
        page = decode(Page, raw)
        substitute = feedbody.feed_source(page.entry)
        if substitute is None:
            raise
        try:
            article = await feed_article(page, substitute, config)
        except ExtractionError:
            raise exc from None  # the page's failure is the one to report
        counts.add("feed_fallbacks", STAGE, article.body_source, exc.reason)
        failure = Failure(exc, note="article from the feed")
        return Outcome([failure, article_record(article)], counts)
    if made is None:
        # A page the fetcher made from the feed entry. No site learning: the host's
        # profile is of its page template, which a feed's content does not carry.
        page = decode(Page, raw)
        article = await feed_article(page, page.body_source, config)
        return Outcome([article_record(article)], counts)
    article, rescued = made
    if rescued is not None:
        counts.add("cleaner_rescues", rescued)
    if sites is not None:
        learn = LearnSettings(
            min_articles=config.site_template_min_articles,
            min_share=config.site_template_min_share,
        )
        article = learn_site(article, sites, learn)
    for reason, count in article.removed_lines.items():
        counts.add("boilerplate_lines_removed", reason, n=count)
    return Outcome([article_record(article)], counts)


async def page_article(
    raw: bytes | None, config: CleanerSettings, extractor: Extractor
) -> tuple[Article, str | None] | None:
    """The article of a fetched page record and the rescue that gave its body, if one
    did (rescue.py); None for a record made from the feed.

    Extraction is CPU work in a worker process: the event loop keeps heartbeating, and a
    page that runs past the time limit is stopped (ExtractionTimeoutError -> DLQ). The
    worker is given the record as it came (bytes are copied, not encoded) and decodes it
    itself: handing it the decoded page's body cost the parent a decode and a pickle of
    the whole page (~1.8 ms of a page's ~20), for fields it needs only when extraction
    fails.
    """
    pool = shared_pool(config.workers)
    call = partial(
        article_in_worker,
        raw,
        extractor,
        max_chars=config.max_page_chars,
        markdown=config.markdown,
    )
    return await pool.run(call, timeout=config.timeout_seconds)


def article_in_worker(
    raw: bytes | None, extractor: Extractor, *, max_chars: int, markdown: bool
) -> tuple[Article, str | None] | None:
    """In the worker: the record's article and whether it was rescued (rescue.py), or
    None when the record is not a fetched page."""
    page = decode(Page, raw)
    if page.body_source != "page":
        return None
    ext = extractor(page.body, page.content_type, max_chars=max_chars, markdown=markdown)
    return article_from(page, ext), ext.rescued


def article_record(article: Article) -> Output:
    return Output(ARTICLES.name, article.id.encode(), encode(article))
