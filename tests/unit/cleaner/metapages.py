"""The pages test_metadata.py and test_jsonld.py build: a body long enough to be
extracted, meta tags for every field, the page around them and a JSON-LD script."""

from __future__ import annotations

BODY = "".join(
    f"<p>Paragraph {i} of the story says something new about the harbour, "
    f"with enough words to count as body text in any extractor.</p>"
    for i in range(5)
)

META = """
<meta property="og:title" content="Meta Title">
<meta property="og:site_name" content="Meta Site">
<meta name="author" content="Meta Author">
<meta property="article:published_time" content="2024-01-02T03:04:05Z">
<meta property="article:modified_time" content="2024-01-03T00:00:00+01:00">
<meta property="article:section" content="Meta Section">
<meta property="article:tag" content="harbour">
<meta property="article:tag" content="ships">
<meta property="og:image" content="/img/meta.jpg">
<meta property="og:url" content="https://example.org/og-url">
"""


def page(head: str = "", body: str = BODY, lang: str = "en") -> str:
    return (
        f'<html lang="{lang}"><head><title>Page Title | Site</title>{head}</head>'
        f"<body><article><h1>Heading Title</h1>{body}</article></body></html>"
    )


def ld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'
