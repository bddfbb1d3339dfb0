"""The seed newsroom: invented outlets' pages and feeds, rendered from `seeds/newsroom.yaml`.

The YAML holds every article's text once, with the ground truth of what dedup should
make of it (copies, a near copy, a revision, which articles are one story); this module
renders each outlet's article pages in its own site template (`seeds/newsroom/templates/`)
and its feed (RSS 2.0, Atom 1.0 or JSON Feed 1.1), and reads the ground truth back for
the end-to-end test. The rendered files are committed, so the seed server stays a plain
static server: `python -m services.devtools.newsroom` writes them, `--check` fails when
they differ from what the YAML says.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import yaml

from services.common.settings import PROJECT_ROOT
from services.devtools import seedserver
from services.fetcher.state.registry import SEEDS_TOKEN

SEEDS = PROJECT_ROOT / "seeds"
NEWSROOM_FILE = SEEDS / "newsroom.yaml"
TEMPLATES = SEEDS / "newsroom" / "templates"
# The revised page sits beside the first version under this infix (`x.html`, `x.rev2.html`).
REVISION_INFIX = seedserver.REVISION_INFIX
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


class NewsroomError(ValueError):
    """seeds/newsroom.yaml says something inconsistent (an unknown outlet, a bad edit)."""


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    template: str
    feed_format: str
    feed_path: str
    tagline: str
    sections: tuple[str, ...]


@dataclass(frozen=True)
class Revision:
    title: str
    updated: datetime
    text: str


@dataclass(frozen=True)
class Article:
    id: str
    outlet: str
    path: str
    story: str
    section: str
    title: str
    author: str
    published: datetime
    text: str
    copy_of: str | None = None
    near_copy_of: str | None = None
    revision: Revision | None = None

    @property
    def paragraphs(self) -> list[str]:
        return paragraphs(self.text)

    @property
    def revision_path(self) -> str:
        return revision_path(self.path)


@dataclass(frozen=True)
class Newsroom:
    outlets: dict[str, Outlet]
    articles: list[Article] = field(default_factory=list)

    def by_id(self, article_id: str) -> Article:
        for article in self.articles:
            if article.id == article_id:
                return article
        raise KeyError(article_id)

    def stories(self) -> dict[str, list[Article]]:
        """Each story's articles, in file order."""
        out: dict[str, list[Article]] = {}
        for article in self.articles:
            out.setdefault(article.story, []).append(article)
        return out

    def copy_groups(self) -> list[list[Article]]:
        """Each syndicated text with its copies and near copies (the original first)."""
        groups: dict[str, list[Article]] = {}
        for article in self.articles:
            root = article.copy_of or article.near_copy_of
            if root is not None:
                groups.setdefault(root, [self.by_id(root)]).append(article)
        return list(groups.values())


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def revision_path(path: str) -> str:
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}{REVISION_INFIX}{dot}{suffix}"


def _when(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def load(path: Path = NEWSROOM_FILE) -> Newsroom:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    outlets = {
        slug: Outlet(
            slug=slug,
            name=item["name"],
            template=item["template"],
            feed_format=item["feed"]["format"],
            feed_path=item["feed"]["path"],
            tagline=item["tagline"],
            sections=tuple(item["sections"]),
        )
        for slug, item in raw["outlets"].items()
    }
    articles: list[Article] = []
    known: dict[str, Article] = {}
    for item in raw["articles"]:
        if item["outlet"] not in outlets:
            raise NewsroomError(f"{item['id']}: unknown outlet {item['outlet']!r}")
        if item["id"] in known:
            raise NewsroomError(f"{item['id']}: id used twice")
        source_id = item.get("copy_of") or item.get("near_copy_of")
        source = known.get(source_id) if source_id else None
        if source_id and source is None:
            raise NewsroomError(f"{item['id']}: copies {source_id!r}, not an earlier article")
        if source is not None:
            text = source.text
            if item.get("near_copy_of"):
                text = _near_copy(item["id"], text, item.get("intro"), item.get("edits") or [])
            story, author = source.story, item.get("author", source.author)
        else:
            text, story, author = item["text"], item.get("story", item["id"]), item["author"]
        revision = None
        if "revision" in item:
            rev = item["revision"]
            revision = Revision(rev["title"], _when(rev["updated"]), rev["text"])
        article = Article(
            id=item["id"],
            outlet=item["outlet"],
            path=item["path"],
            story=story,
            section=item["section"],
            title=item["title"],
            author=author,
            published=_when(item["published"]),
            text=text,
            copy_of=item.get("copy_of"),
            near_copy_of=item.get("near_copy_of"),
            revision=revision,
        )
        known[article.id] = article
        articles.append(article)
    return Newsroom(outlets, articles)


def _near_copy(name: str, text: str, intro: str | None, edits: list[list[str]]) -> str:
    for old, new in edits:
        if text.count(old) != 1:
            raise NewsroomError(f"{name}: edit {old!r} does not occur exactly once")
        text = text.replace(old, new)
    return f"{intro}\n\n{text}" if intro else text


# --- rendering -------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fill(template: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise NewsroomError(f"template placeholder {match.group(0)} has no value")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(one, template)


def _url(path: str) -> str:
    return f"{SEEDS_TOKEN}/{path}"


def render_page(
    newsroom: Newsroom, article: Article, *, revised: bool = False, template: str | None = None
) -> str:
    outlet = newsroom.outlets[article.outlet]
    if template is None:
        template = (TEMPLATES / f"{outlet.template}.html").read_text(encoding="utf-8")
    title, text, modified = article.title, article.text, article.published
    if revised:
        assert article.revision is not None
        title, text, modified = (
            article.revision.title,
            article.revision.text,
            article.revision.updated,
        )
    paras = paragraphs(text)
    home = _url(f"site/{outlet.slug}/")
    # Other articles of the outlet as the "related"/"most read" list every site has.
    siblings = [a for a in newsroom.articles if a.outlet == outlet.slug and a.id != article.id][:4]
    related = "".join(
        f'<li><a href="{html.escape(_url(a.path))}">{html.escape(a.title)}</a></li>'
        for a in siblings
    )
    nav = "".join(
        f'<li><a href="{home}{_slug(s)}/">{html.escape(s)}</a></li>' for s in outlet.sections
    )
    canonical = _url(article.path)
    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": _iso(article.published),
            "dateModified": _iso(modified),
            "author": [{"@type": "Person", "name": article.author}],
            "publisher": {"@type": "Organization", "name": outlet.name},
            "mainEntityOfPage": canonical,
            "articleSection": article.section,
        },
        ensure_ascii=False,
    ).replace("</", "<\\/")
    words = sum(len(p.split()) for p in paras)
    values = {
        "title": html.escape(title),
        "outlet": html.escape(outlet.name),
        "tagline": html.escape(outlet.tagline),
        "summary": html.escape(paras[0]),
        "author": html.escape(article.author),
        "author_slug": _slug(article.author.split(",")[0]),
        "section": html.escape(article.section),
        "section_slug": _slug(article.section),
        "section_lower": html.escape(article.section.lower()),
        "canonical": canonical,
        "home": home,
        "feed_url": _url(outlet.feed_path),
        "feed_type": FEED_TYPES[outlet.feed_format],
        "published_iso": _iso(article.published),
        "modified_iso": _iso(modified),
        "modified_human": modified.strftime("%d %B %Y, %H:%M").lstrip("0"),
        "date_long": article.published.strftime("%d %B %Y").lstrip("0"),
        "date_us": article.published.strftime("%b %d, %Y").replace(" 0", " "),
        "time_hm": article.published.strftime("%H:%M"),
        "reading_minutes": str(max(1, round(words / 230))),
        "nav": nav,
        "related": related,
        "jsonld": jsonld,
        "body": "\n".join(f"      <p>{html.escape(p)}</p>" for p in paras),
    }
    return _fill(template, values)


@dataclass(frozen=True)
class FeedItem:
    guid: str
    title: str
    link: str
    summary: str
    author: str
    published: datetime
    updated: datetime


def feed_items(newsroom: Newsroom, outlet: Outlet) -> list[FeedItem]:
    """The outlet's feed, newest first; a revised article is listed again as an update."""
    items = []
    for article in newsroom.articles:
        if article.outlet != outlet.slug:
            continue
        link = _url(article.path)
        guid = f"urn:newswire:seeds:{outlet.slug}:{article.id}"
        first = paragraphs(article.text)[0]
        items.append(
            FeedItem(
                guid,
                article.title,
                link,
                first,
                article.author,
                article.published,
                article.published,
            )
        )
        if article.revision is not None:
            items.append(
                FeedItem(
                    f"{guid}:update-1",
                    article.revision.title,
                    link,
                    paragraphs(article.revision.text)[0],
                    article.author,
                    article.published,
                    article.revision.updated,
                )
            )
    return sorted(items, key=lambda i: (i.updated, i.guid), reverse=True)


def render_feed(newsroom: Newsroom, outlet: Outlet) -> str:
    items = feed_items(newsroom, outlet)
    if outlet.feed_format == "rss":
        return _rss(outlet, items)
    if outlet.feed_format == "atom":
        return _atom(outlet, items)
    if outlet.feed_format == "json":
        return _json_feed(outlet, items)
    raise NewsroomError(f"{outlet.slug}: unknown feed format {outlet.feed_format!r}")


def _rss(outlet: Outlet, items: list[FeedItem]) -> str:
    x = xml_escape
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">',
        "  <channel>",
        f"    <title>{x(outlet.name)}</title>",
        f"    <link>{_url(f'site/{outlet.slug}/')}</link>",
        f"    <description>{x(outlet.tagline)}</description>",
        f'    <atom:link href="{_url(outlet.feed_path)}" rel="self" type="application/rss+xml"/>',
        "    <language>en-gb</language>",
        f"    <lastBuildDate>{format_datetime(items[0].updated, usegmt=True)}</lastBuildDate>",
    ]
    for item in items:
        lines += [
            "    <item>",
            f"      <title>{x(item.title)}</title>",
            f"      <link>{x(item.link)}</link>",
            f'      <guid isPermaLink="false">{x(item.guid)}</guid>',
            f"      <dc:creator>{x(item.author)}</dc:creator>",
            f"      <pubDate>{format_datetime(item.updated, usegmt=True)}</pubDate>",
            f"      <description>{x(item.summary)}</description>",
            "    </item>",
        ]
    lines += ["  </channel>", "</rss>", ""]
    return "\n".join(lines)


def _atom(outlet: Outlet, items: list[FeedItem]) -> str:
    x = xml_escape
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{x(outlet.name)}</title>",
        f"  <subtitle>{x(outlet.tagline)}</subtitle>",
        f"  <id>urn:newswire:seeds:{outlet.slug}</id>",
        f'  <link rel="self" href="{_url(outlet.feed_path)}"/>',
        f'  <link rel="alternate" href="{_url(f"site/{outlet.slug}/")}"/>',
        f"  <updated>{_iso(items[0].updated)}</updated>",
    ]
    for item in items:
        lines += [
            "  <entry>",
            f"    <title>{x(item.title)}</title>",
            f"    <id>{x(item.guid)}</id>",
            f'    <link rel="alternate" type="text/html" href="{x(item.link)}"/>',
            f"    <published>{_iso(item.published)}</published>",
            f"    <updated>{_iso(item.updated)}</updated>",
            f"    <author><name>{x(item.author)}</name></author>",
            f"    <summary>{x(item.summary)}</summary>",
            "  </entry>",
        ]
    lines += ["</feed>", ""]
    return "\n".join(lines)


def _json_feed(outlet: Outlet, items: list[FeedItem]) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "description": outlet.tagline,
        "home_page_url": _url(f"site/{outlet.slug}/"),
        "feed_url": _url(outlet.feed_path),
        "language": "en-GB",
        "items": [
            {
                "id": item.guid,
                "url": item.link,
                "title": item.title,
                "summary": item.summary,
                "date_published": _iso(item.published),
                "date_modified": _iso(item.updated),
                "authors": [{"name": item.author}],
            }
            for item in items
        ],
    }
    return json.dumps(feed, indent=2, ensure_ascii=False) + "\n"


def render(newsroom: Newsroom) -> dict[str, str]:
    """Every file of the newsroom, by its path under seeds/."""
    templates = {
        name: (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")
        for name in {o.template for o in newsroom.outlets.values()}
    }
    files: dict[str, str] = {}
    for article in newsroom.articles:
        template = templates[newsroom.outlets[article.outlet].template]
        files[article.path] = render_page(newsroom, article, template=template)
        if article.revision is not None:
            files[article.revision_path] = render_page(
                newsroom, article, revised=True, template=template
            )
    for outlet in newsroom.outlets.values():
        files[outlet.feed_path] = render_feed(newsroom, outlet)
    return files


def stale_files(files: dict[str, str], root: Path = SEEDS) -> list[str]:
    """The rendered files that are missing under `root` or differ from what is there."""
    return sorted(
        rel
        for rel, text in files.items()
        if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when seeds/ is stale")
    args = parser.parse_args(argv)
    files = render(load())
    stale = stale_files(files)
    if args.check:
        for rel in stale:
            print(f"stale: seeds/{rel}", file=sys.stderr)
        return 1 if stale else 0
    for rel in stale:
        target = SEEDS / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[rel], encoding="utf-8")
        print(f"wrote seeds/{rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
