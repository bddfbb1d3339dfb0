"""Page record in, article record out: the cleaner's whole job as a pure function."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from urllib.parse import urljoin

from services.cleaner.extract import extract
from services.cleaner.sitelearn import LearnSettings, SiteProfile, apply
from services.common import metrics
from services.common.models import Article, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import ARTICLES
from services.common.urls import host_of

STAGE = "cleaner"


def page_to_article(page: Page, settings: Settings) -> Article:
    ext = extract(page.body, page.content_type, max_chars=settings.max_page_chars)
    canonical = urljoin(page.final_url, ext.canonical_url) if ext.canonical_url else None
    entry = page.entry
    byline = ext.byline or (", ".join(entry.authors) if entry.authors else None)
    return Article(
        id=page.article_id,
        url=page.final_url,
        canonical_url=canonical,
        feed_url=entry.feed_url,
        site=ext.site or host_of(page.final_url) or None,
        title=ext.title or entry.title,
        byline=byline,
        authors=[byline] if byline else [],
        published=ext.published or entry.published,
        language_hint=ext.language_hint,
        text=ext.text,
        paragraphs=ext.paragraphs,
        removed_lines=ext.removed,
        trace=page.trace.stamped(STAGE),
    )


def learn_site(article: Article, sites: MutableMapping[str, str], cfg: LearnSettings) -> Article:
    """Drop the lines this article's host repeats on most pages; remember this page's lines."""
    host = host_of(article.url)
    if not host:
        return article
    stored = sites.get(host)
    profile = SiteProfile.model_validate_json(stored) if stored else SiteProfile()
    kept, removed, updated = apply(profile, article.id, article.paragraphs, cfg)
    sites[host] = updated.model_dump_json()
    if not removed:
        return article
    counts = {**article.removed_lines, "site_template": removed}
    return article.model_copy(
        update={"paragraphs": kept, "text": "\n\n".join(kept), "removed_lines": counts}
    )


async def handle_page(
    raw: bytes | None, settings: Settings, sites: MutableMapping[str, str] | None = None
) -> list[Output]:
    page = decode(Page, raw)
    # Extraction is CPU work: in a thread, so the event loop keeps heartbeating.
    article = await asyncio.to_thread(page_to_article, page, settings)
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
