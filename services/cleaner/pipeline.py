"""Page record in, article record out: the cleaner's whole job as a pure function."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime
from functools import partial
from urllib.parse import urljoin

from services.cleaner.extract import Extracted, extract
from services.cleaner.markdown import drop_removed
from services.cleaner.sitelearn import LearnSettings, SiteProfile, apply
from services.cleaner.workers import shared_pool
from services.common import metrics
from services.common.models import Article, MetadataSource, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import ARTICLES
from services.common.urls import host_of

STAGE = "cleaner"

# What runs in the worker process: page body and content type in, Extracted out.
Extractor = Callable[..., Extracted]


def extraction(
    page: Page, settings: Settings, extractor: Extractor = extract
) -> Callable[[], Extracted]:
    """The extraction of `page` as a picklable call, for a worker process."""
    return partial(
        extractor,
        page.body,
        page.content_type,
        max_chars=settings.max_page_chars,
        markdown=settings.cleaner_markdown,
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


async def handle_page(
    raw: bytes | None,
    settings: Settings,
    sites: MutableMapping[str, str] | None = None,
    *,
    extractor: Extractor = extract,
) -> list[Output]:
    page = decode(Page, raw)
    # Extraction is CPU work in a worker process: the event loop keeps heartbeating, and
    # a page that runs past the time limit is stopped (ExtractionTimeoutError -> DLQ).
    pool = shared_pool(settings.cleaner_workers)
    ext = await pool.run(
        extraction(page, settings, extractor), timeout=settings.cleaner_timeout_seconds
    )
    if ext.rescued is not None:
        metrics.CLEANER_RESCUES.labels(ext.rescued).inc()
    article = article_from(page, ext)
    if sites is not None:
        article = learn_site(
            article,
            sites,
            LearnSettings(
                min_articles=settings.site_template_min_articles,
                min_share=settings.site_template_min_share,
            ),
        )
    for reason, count in article.removed_lines.items():
        metrics.BOILERPLATE_LINES_REMOVED.labels(reason).inc(count)
    return [Output(ARTICLES.name, article.id.encode(), encode(article))]
