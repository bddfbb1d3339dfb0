"""language_hint: what the page declares, as a code; nothing when it declares nothing."""

from __future__ import annotations

import json

from services.cleaner.extract import extract_html

BODY_ES = "".join(
    f"<p>El párrafo {i} de la noticia cuenta lo que pasó en el puerto de Valencia, "
    "con palabras suficientes para que cualquier extractor lo tome por texto.</p>"
    for i in range(5)
)


def page(html_attrs: str = "", head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html{html_attrs}><head><title>Noticia</title>{head}</head>"
        f"<body><article><h1>Noticia</h1>{BODY_ES}</article></body></html>"
    )


def test_nothing_declared_means_no_hint() -> None:
    assert extract_html(page()).language_hint is None


def test_html_lang_alone() -> None:
    assert extract_html(page(' lang="es-ES"')).language_hint == "es"


def test_og_locale_alone() -> None:
    head = '<meta property="og:locale" content="es_ES">'
    assert extract_html(page(head=head)).language_hint == "es"


def test_a_theme_default_html_lang_en_loses_to_the_pages_own_declarations() -> None:
    # Themes ship <html lang="en">; the site's locale (og:locale, Content-Language) is
    # what its editors set. A Spanish page must not come out "en".
    og = '<meta property="og:locale" content="es_ES">'
    assert extract_html(page(' lang="en"', og)).language_hint == "es"
    http_equiv = '<meta http-equiv="Content-Language" content="es">'
    assert extract_html(page(' lang="en"', http_equiv)).language_hint == "es"


def test_json_ld_in_language_as_a_name_becomes_a_code() -> None:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "inLanguage": "Spanish"}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert extract_html(page(' lang="es"', head)).language_hint == "es"


def test_a_value_naming_no_language_is_skipped_for_the_next() -> None:
    head = '<meta http-equiv="Content-Language" content="x-default">'
    assert extract_html(page(' lang="es"', head)).language_hint == "es"
