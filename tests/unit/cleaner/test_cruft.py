"""services/cleaner/cruft.py: the line rules (English, then German, French, Spanish and a
few Italian, Portuguese and Dutch strings) remove the UI strings sites print and never the
article sentences with the same words; the element rules (id/class and aria-label filters,
promo lists) and the HTML walk drop what is never article text, counting each removal once."""

from __future__ import annotations

from itertools import zip_longest

import pytest
from lxml import html as lxml_html

from services.cleaner.cruft import (
    _ARIA_ANY,
    _ARIA_RULES,
    _ID_CLASS_ANY,
    _ID_CLASS_RULES,
    Removed,
    drop_promo_lists,
    element_reason,
    filter_lines,
    line_reason,
    strip_html,
)
from services.cleaner.extract import extract_html

# Line rules, English.

# Article sentences that share a trigger word with a cruft rule (a reviewer's page and
# the prose it deleted: 6 of its 9 paragraphs went).
ENGLISH_PROSE = [
    "The bakery uses cookies from its own recipe book in its famous ice-cream sandwiches.",
    "Grandma still uses cookies as bribes, her grandson said.",
    "Fans follow her every move on Instagram, where the owner's daughter has 30,000 followers.",
    "Readers subscribing to the Gazette's food newsletter voted it the best bakery in town.",
    "Published in 1998, her cookbook sold 200,000 copies.",
    "The last batch leaves the oven at 6:30 a.m. on March 30, 2024.",
    "Kickoff is at 8:15 p.m. on Jan. 5, 2024.",
    "The train left at 10:45 in 2019 and never arrived.",
    "Posted on the door was a note: 3 people arrested.",
    "Modified at 3 sites, the vaccine was tested in 2021.",
    "Her first website was made with WordPress.",
    "The site was powered by WordPress.",
    "Updated guidance on 5 March tightened the rules.",
    "Tags: none were found on the animals.",
    "Related: the senator's earlier remarks drew criticism.",
    "More: the minister refused to comment.",
    "The story continues below the surface of the harbour, divers said.",
    "Loading the ships took three days.",
    # A second reviewer's: quotes, attributions and prose that ends in "p.m.".
    "The 2024 debate starts at 9:00 p.m.",
    '"The bake sale is a tradition. We use cookies to raise money for the band," the '
    "principal said.",
    "The bakery uses cookies from a local supplier to keep its browser-based ordering simple.",
    "Get ready for higher prices, the central bank warned in its newsletter to clients on Monday.",
    "Join the thousands of parents who read the district newsletter, the superintendent urged.",
    "Copyright lawyers say the site was built with WordPress.",
    "Share on the market fell 5 percent.",
    "Email on Tuesday was the last contact.",
]

# The UI strings those rules are for, as sites print them.
ENGLISH_CRUFT = {
    "This site uses cookies. By continuing to browse you agree to our use of cookies.": (
        "cookie_notice"
    ),
    "We use cookies to make your experience better.": "cookie_notice",
    "Example.com uses cookies to improve your experience.": "cookie_notice",
    "Accept all cookies": "cookie_notice",
    "Subscribe to our newsletter": "newsletter_prompt",
    "Sign up for our newsletter": "newsletter_prompt",
    "Get the latest updates. Subscribe to NJ.com's newsletters.": "newsletter_prompt",
    "Follow us on Twitter": "author_contact",
    "Follow us on Facebook and Instagram.": "author_contact",
    "She covers food. Follow her on Instagram @janedoe.": "author_contact",
    "Published: 12 March 2024 10:42": "dateline",
    "Updated 10:42 AM EST, Tue March 5, 2024": "dateline",
    "Last updated on March 5, 2024 at 10:42 am": "dateline",
    "5:45 AM PST 11/19/2019 by Patrick Shanley": "dateline",
    "Website built with Wix": "builder_credit",
    "Powered by WordPress": "builder_credit",
    "© 2023 by News of War. Proudly created with Wix.com": "builder_credit",
    "Tags: Politics, Economy": "taxonomy",
    "Related: Ten pictures of the moon": "read_more",
    "Read more: Markets slide as the talks stall": "read_more",
}


def test_prose_with_trigger_words_is_kept_beside_real_cruft() -> None:
    lines = [
        line
        for pair in zip_longest(ENGLISH_PROSE, ENGLISH_CRUFT)
        for line in pair
        if line is not None
    ]
    removed = Removed()
    assert filter_lines(lines, removed) == ENGLISH_PROSE
    assert removed.as_dict() == {
        reason: list(ENGLISH_CRUFT.values()).count(reason) for reason in set(ENGLISH_CRUFT.values())
    }
    assert {line: line_reason(line) for line in ENGLISH_CRUFT} == ENGLISH_CRUFT


def test_a_normal_article_keeps_every_paragraph() -> None:
    paragraphs = [
        "The Miller family bakery on Main Street will close at the end of the month after "
        "six decades in business, its owners said on Tuesday.",
        *ENGLISH_PROSE[:7],
        "Rising costs of flour, butter and energy made the business impossible to sustain, "
        "Ann Miller told the Gazette in an interview at the shop on Saturday.",
    ]
    html = (
        "<html><head><title>Bakery to close after 60 years</title></head><body><article>"
        "<h1>Bakery to close after 60 years</h1>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + "</article></body></html>"
    )
    assert extract_html(html).paragraphs == paragraphs


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        # UI strings the free-form rules missed.
        ("By continuing to use this site you agree to our use of cookies.", "cookie_notice"),
        ("Cookie Settings", "cookie_notice"),
        ("Get our free daily newsletter", "newsletter_prompt"),
        ("Website built with Wix", "builder_credit"),
        ("Story continues below advertisement", "advertisement"),
        ("Continue reading below", "advertisement"),
        ("Article continues after this ad", "advertisement"),
        ("Share this:", "share_prompt"),
        ("Like this:", "share_prompt"),
        ("Loading…", "share_prompt"),
        ("Back to top ↑", "scroll_anchor"),
        ("Share on Facebook", "share_prompt"),
        (
            "Get the day’s top headlines delivered to your inbox every morning by subscribing "
            "to our newsletter.",
            "newsletter_prompt",
        ),
        ("Email this article", "share_prompt"),
    ],
)
def test_anchored_rules_catch_more_ui_strings(line: str, reason: str) -> None:
    assert line_reason(line) == reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("top of page", "scroll_anchor"),
        ("Bottom of Page", "scroll_anchor"),
        ("Skip to main content", "skip_link"),
        ("Share this article", "share_prompt"),
        ("This website uses cookies to improve your experience.", "cookie_notice"),
        ("Subscribe to our newsletter", "newsletter_prompt"),
        ("© 2023 by News of War. Proudly created with Wix.com", "builder_credit"),
        ("3 min read", "post_stats"),
        ("The talks continue on top of page one of the agenda, officials said.", None),
        ("Share prices fell sharply on Monday as investors weighed the news.", None),
    ],
)
def test_line_rules(line: str, reason: str | None) -> None:
    assert line_reason(line) == reason


# Line rules in German, French and Spanish (Italian, Portuguese, Dutch where cheap).

# The UI strings as sites print them, with the rule that must remove each.
MULTILINGUAL_CRUFT: dict[str, str] = {
    # German
    "Weiterlesen": "read_more",
    "Weiterlesen »": "read_more",
    "Mehr zum Thema": "read_more",
    "Mehr zum Thema: Bundestag beschließt das Heizungsgesetz": "read_more",
    "Lesen Sie auch: Die wichtigsten Fragen zur Grundsteuer": "read_more",
    "Das könnte Sie auch interessieren": "read_more",
    "Verwandte Artikel": "read_more",
    "Auch auf beispiel.de": "read_more",
    "Newsletter abonnieren": "newsletter_prompt",
    "Jetzt Newsletter abonnieren und nichts mehr verpassen!": "newsletter_prompt",
    "Abonnieren Sie unseren kostenlosen Newsletter.": "newsletter_prompt",
    "Melden Sie sich jetzt für unseren Newsletter an.": "newsletter_prompt",
    "Diese Website verwendet Cookies, um Ihnen das beste Nutzererlebnis zu bieten.": (
        "cookie_notice"
    ),
    "Wir verwenden Cookies, um unsere Website für Sie optimal zu gestalten.": "cookie_notice",
    "Durch die weitere Nutzung der Seite stimmen Sie der Verwendung von Cookies zu.": (
        "cookie_notice"
    ),
    "Alle Cookies akzeptieren": "cookie_notice",
    "Artikel teilen": "share_prompt",
    "Auf Facebook teilen": "share_prompt",
    "Teilen": "share_prompt",
    "Link kopieren": "share_prompt",
    "Gefällt mir:": "share_prompt",
    "Kommentare": "comment_prompt",
    "Kommentare (12)": "comment_prompt",
    "12 Kommentare": "comment_prompt",
    "Schreiben Sie einen Kommentar": "comment_prompt",
    "Sie müssen angemeldet sein, um Kommentare zu schreiben.": "comment_prompt",
    "Impressum": "legal_footer",
    "Impressum | Datenschutz | Kontakt": "legal_footer",
    "© 2024 Beispiel Verlag GmbH. Alle Rechte vorbehalten.": "legal_footer",
    "Alle Rechte vorbehalten. Vervielfältigung nur mit Genehmigung.": "legal_footer",
    "Folgen Sie uns auf Facebook und Instagram.": "author_contact",
    "Anzeige": "advertisement",
    "Nach oben": "scroll_anchor",
    "Zum Inhalt springen": "skip_link",
    "Schlagworte: Politik, Wirtschaft": "taxonomy",
    "5 Min. Lesezeit": "post_stats",
    # French
    "Lire la suite": "read_more",
    "À lire aussi : Le gouvernement présente son budget": "read_more",
    "Sur le même sujet": "read_more",
    "Inscrivez-vous à notre newsletter": "newsletter_prompt",
    "Abonnez-vous à notre newsletter quotidienne pour ne rien manquer.": "newsletter_prompt",
    "Ce site utilise des cookies pour améliorer votre expérience de navigation.": ("cookie_notice"),
    "Nous utilisons des cookies pour mesurer l'audience de notre site.": "cookie_notice",
    "Accepter les cookies": "cookie_notice",
    "Partager sur Facebook": "share_prompt",
    "Partager cet article": "share_prompt",
    "Réagir": "comment_prompt",
    "Laisser un commentaire": "comment_prompt",
    "3 commentaires": "comment_prompt",
    "Tous droits réservés": "legal_footer",
    "© Le Journal 2024 - Tous droits réservés": "legal_footer",
    "Mentions légales | Politique de confidentialité | Contact": "legal_footer",
    "Suivez-nous sur Twitter": "author_contact",
    "Publicité": "advertisement",
    "Aller au contenu principal": "skip_link",
    "Retour en haut de la page": "scroll_anchor",
    "Mots-clés : Politique, Économie": "taxonomy",
    # Spanish
    "Leer más": "read_more",
    "Te puede interesar: El Gobierno aprueba los presupuestos": "read_more",
    "Noticias relacionadas": "read_more",
    "Suscríbete a nuestro boletín": "newsletter_prompt",
    "Recibe nuestro boletín semanal en tu correo.": "newsletter_prompt",
    "Este sitio web utiliza cookies para mejorar su experiencia de navegación.": ("cookie_notice"),
    "Utilizamos cookies propias y de terceros para analizar nuestros servicios.": ("cookie_notice"),
    "Aceptar todas las cookies": "cookie_notice",
    "Compartir en Facebook": "share_prompt",
    "Compartir": "share_prompt",
    "Comentarios": "comment_prompt",
    "Deja tu comentario": "comment_prompt",
    "Todos los derechos reservados": "legal_footer",
    "© 2024 El Diario. Todos los derechos reservados.": "legal_footer",
    "Aviso legal | Política de privacidad | Contacto": "legal_footer",
    "Síguenos en Twitter e Instagram": "author_contact",
    "Publicidad": "advertisement",
    "Saltar al contenido": "skip_link",
    "Volver arriba": "scroll_anchor",
    "Etiquetas: Política, Economía": "taxonomy",
    "3 minutos de lectura": "post_stats",
    # Italian, Portuguese, Dutch
    "Leggi anche: Il governo approva la manovra": "read_more",
    "© RIPRODUZIONE RISERVATA": "legal_footer",
    "Leia também": "read_more",
    "Todos os direitos reservados": "legal_footer",
    "Lees ook": "read_more",
    "Deze website gebruikt cookies om uw ervaring te verbeteren.": "cookie_notice",
    # English strings these rules brought along.
    "Leave a comment": "comment_prompt",
    "Copyright © 2024 Example Media. All rights reserved.": "legal_footer",
}

# Article sentences with the words of those rules, which must stay.
MULTILINGUAL_PROSE = [
    # German
    "Die Kommentare des Ministers sorgten im Bundestag für Empörung.",
    "Kommentare von Lesern zeigen, wie gespalten die Stadt ist.",
    "Die Website verwendet Cookies, um Nutzer über Seiten hinweg zu verfolgen, kritisierte "
    "die Verbraucherzentrale.",
    "Wer den Newsletter abonnieren will, muss seit Montag seine Telefonnummer angeben.",
    "Der Verlag verschickt seinen Newsletter jeden Morgen an 40.000 Abonnenten.",
    "Mehr zum Thema Klimaschutz wollte der Minister am Dienstag nicht sagen.",
    "Weiterlesen konnte sie das Protokoll erst nach der Sitzung.",
    "Die Nutzer teilen den Artikel tausendfach auf Facebook.",
    "Teilen wollte der Konzern seine Gewinne nicht.",
    "Alle Rechte vorbehalten, hieß es in der Erklärung des Verlags, der die Fotos zurückzog.",
    "Das Impressum der Seite nennt keinen Verantwortlichen.",
    "„Folgen Sie uns auf Instagram“, rief der Sprecher den Demonstranten zu.",
    "Werbung für Tabak ist in Deutschland weitgehend verboten.",
    "Anzeige gegen Unbekannt erstattete die Polizei noch am Abend.",
    "Kommentieren wollte das Ministerium den Vorgang nicht.",
    # French
    "Le site utilise des cookies pour suivre ses lecteurs, a estimé la CNIL dans sa décision.",
    "Les commentaires du ministre ont provoqué un tollé à l'Assemblée.",
    "Partager sur les réseaux sociaux des photos d'enfants expose les familles, rappelle la CNIL.",
    "Lire la suite du rapport prendra des semaines aux enquêteurs.",
    "Réagir vite est essentiel, selon les pompiers.",
    "Tous droits réservés, selon le contrat signé en 2019 par les deux parties.",
    "La mairie a invité les habitants à s'inscrire à sa newsletter pour suivre les travaux.",
    "Publicité mensongère : l'enseigne a été condamnée à deux millions d'euros.",
    # Spanish
    "Compartir en redes sociales se ha vuelto un hábito para millones de jóvenes, según el "
    "estudio.",
    "Los comentarios del presidente provocaron una crisis diplomática.",
    "El sitio web utiliza cookies para rastrear a los usuarios, denunció la agencia de "
    "protección de datos.",
    "Leer más de veinte libros al año es habitual entre los encuestados.",
    "Te puede interesar saber que el museo abre los lunes, dijo la guía.",
    "Todos los derechos reservados por la familia del autor, explicó la editorial.",
    "El ayuntamiento envía su boletín a 3.000 vecinos cada semana.",
    "Recibe el boletín del banco central desde 2019 y nunca lo ha leído.",
]


def test_each_rule_removes_its_boilerplate() -> None:
    assert {line: line_reason(line) for line in MULTILINGUAL_CRUFT} == MULTILINGUAL_CRUFT


@pytest.mark.parametrize("sentence", MULTILINGUAL_PROSE)
def test_sentences_with_the_same_words_stay(sentence: str) -> None:
    assert line_reason(sentence) is None


def test_prose_is_kept_beside_real_cruft_and_removals_are_counted() -> None:
    lines = [
        line
        for pair in zip_longest(MULTILINGUAL_PROSE, MULTILINGUAL_CRUFT)
        for line in pair
        if line is not None
    ]
    removed = Removed()
    assert filter_lines(lines, removed) == MULTILINGUAL_PROSE
    assert removed.as_dict() == {
        reason: list(MULTILINGUAL_CRUFT.values()).count(reason)
        for reason in set(MULTILINGUAL_CRUFT.values())
    }


@pytest.mark.parametrize(
    ("ident", "reason"),
    [
        ("artikel-teilen", "share_prompt"),
        ("social-partage", "share_prompt"),
        ("compartir-noticia", "share_prompt"),
        ("condividi", "share_prompt"),
        ("verwandte-artikel", "related_list"),
        ("articles-lies", "related_list"),
        ("a-lire-aussi", "related_list"),
        ("noticias-relacionadas", "related_list"),
        ("articoli-correlati", "related_list"),
        ("boletin-suscripcion", "newsletter_prompt"),
        ("nieuwsbrief", "newsletter_prompt"),
        # Words that hold a trigger word and are not one.
        ("verteilen", None),
        ("pressemitteilungen", None),
        ("onderdelen", None),
        ("artikel-inhalt", None),
    ],
)
def test_identifiers_in_other_languages(ident: str, reason: str | None) -> None:
    assert next((r for r, p in _ID_CLASS_RULES if p.search(ident)), None) == reason
    if reason is not None:
        assert _ID_CLASS_ANY.search(ident)
    assert element_reason(lxml_html.fromstring(f'<div class="{ident}">x</div>')) == reason


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("Artikel teilen", "share_prompt"),
        ("Partager", "share_prompt"),
        ("Compartir en redes", "share_prompt"),
        ("Verwandte Artikel", "related_list"),
        ("Articles liés", "related_list"),
        ("Noticias relacionadas", "related_list"),
        ("Verteilen", None),
        ("Hauptmenü", None),
    ],
)
def test_aria_labels_in_other_languages(label: str, reason: str | None) -> None:
    assert next((r for r, p in _ARIA_RULES if p.search(label.lower())), None) == reason
    if reason is not None:
        assert _ARIA_ANY.search(label.lower())
    assert element_reason(lxml_html.fromstring(f'<div aria-label="{label}">x</div>')) == reason


@pytest.mark.parametrize(
    "heading",
    ["Das könnte Sie auch interessieren", "À lire aussi", "Te puede interesar", "Meistgelesen"],
)
def test_a_list_of_links_under_a_promo_heading_goes(heading: str) -> None:
    tree = lxml_html.fromstring(
        "<div><p>Der Stadtrat hat am Dienstag entschieden.</p>"
        f"<h3>{heading}</h3><ul><li><a href='/a'>Eins</a></li><li><a href='/b'>Zwei</a></li>"
        "</ul></div>"
    )
    assert drop_promo_lists(tree, Removed()) == 1
    assert tree.text_content() == "Der Stadtrat hat am Dienstag entschieden."


def test_a_heading_that_begins_like_one_but_says_more_keeps_its_list() -> None:
    tree = lxml_html.fromstring(
        "<div><h3>Mehr zum Thema Radverkehr sagen die Zahlen</h3>"
        "<ul><li><a href='/a'>Eins</a></li></ul></div>"
    )
    assert drop_promo_lists(tree, Removed()) == 0


GERMAN_ARTICLE = [
    "Der Stadtrat hat am Dienstagabend ein neues Radwegenetz beschlossen, das bis 2030 "
    "alle Stadtteile verbinden soll.",
    "Die Kommentare des Oberbürgermeisters zu den Kosten sorgten in der Sitzung für "
    "lebhafte Debatten unter den Fraktionen.",
    "Die Website verwendet Cookies, um Nutzer über Seiten hinweg zu verfolgen, kritisierte "
    "ein Stadtrat, der die Online-Beteiligung für das Projekt ablehnte.",
    "Wer den Newsletter der Stadt abonnieren will, erfährt dort künftig jede Woche, welche "
    "Straßen gerade umgebaut werden.",
    "Die Bauarbeiten sollen im Frühjahr beginnen; der erste Abschnitt führt vom Bahnhof "
    "bis zur Universität.",
]


def test_a_german_article_page_keeps_its_text_and_loses_its_boilerplate() -> None:
    html = (
        "<html lang='de'><head><title>Stadtrat beschließt Radwegenetz</title></head><body>"
        "<div class='cookie-hinweis'><p>Diese Website verwendet Cookies.</p></div>"
        "<article><h1>Stadtrat beschließt Radwegenetz</h1>"
        "<div class='artikel-teilen'><a href='#'>Facebook</a> <a href='#'>WhatsApp</a></div>"
        f"<p>{GERMAN_ARTICLE[0]}</p><p>{GERMAN_ARTICLE[1]}</p>"
        "<p>Lesen Sie auch: Neue Ampeln für die Innenstadt</p>"
        f"<p>{GERMAN_ARTICLE[2]}</p><p>Jetzt Newsletter abonnieren und nichts mehr verpassen!</p>"
        f"<p>{GERMAN_ARTICLE[3]}</p><p>{GERMAN_ARTICLE[4]}</p>"
        "<p>Artikel teilen</p><p>Kommentare (3)</p>"
        "<p>© 2024 Stadtanzeiger GmbH. Alle Rechte vorbehalten.</p>"
        "<h3>Das könnte Sie auch interessieren</h3>"
        "<ul><li><a href='/a'>Brücke gesperrt</a></li><li><a href='/b'>Neuer Bahnhof</a></li></ul>"
        "</article></body></html>"
    )
    result = extract_html(html)
    assert result.paragraphs == GERMAN_ARTICLE
    for reason in ("read_more", "newsletter_prompt", "share_prompt", "comment_prompt"):
        assert result.removed.get(reason, 0) >= 1, reason
    assert result.removed.get("legal_footer") == 1


# Element rules: the id/class and aria-label filters, and the HTML walk.


# Each identifier with the rule it must meet (None: no rule), written out by hand so
# that the filter is checked against what the rules are meant to catch, not against
# whatever they happen to catch.
@pytest.mark.parametrize(
    ("ident", "reason"),
    [
        ("scroll_to_top", "scroll_anchor"),
        ("x scroll_to_bottom", "scroll_anchor"),
        ("share-bar", "share_prompt"),
        ("social-share", "share_prompt"),
        ("post-sharing", "share_prompt"),
        ("cookie-banner", "cookie_notice"),
        ("consent", "cookie_notice"),
        ("gdpr-box", "cookie_notice"),
        ("newsletter", "newsletter_prompt"),
        ("related-posts", "related_list"),
        ("recent-posts", "related_list"),
        ("tooltip", "hover_card"),
        ("popover", "hover_card"),
        ("rollover", "hover_card"),
        ("hovercard", "hover_card"),
        ("hover-card", "hover_card"),
        ("article-body", None),
        ("main", None),
        # The filter drops the rule's leading \b and so matches; the rule itself does not.
        ("xscroll_to_top", None),
    ],
)
def test_the_id_class_filter_lets_every_rule_match_through(ident: str, reason: str | None) -> None:
    assert next((r for r, p in _ID_CLASS_RULES if p.search(ident)), None) == reason
    if reason is not None:
        assert _ID_CLASS_ANY.search(ident)
    # Through the element walk, where the filter decides whether the rules are asked.
    assert element_reason(lxml_html.fromstring(f'<div class="{ident}">x</div>')) == reason
    assert element_reason(lxml_html.fromstring(f'<div id="{ident}">x</div>')) == reason


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("top of page", "scroll_anchor"),
        ("share on x", "share_prompt"),
        ("recent posts", "related_list"),
        ("related", "related_list"),
        ("menu", None),
    ],
)
def test_the_aria_filter_lets_every_rule_match_through(label: str, reason: str | None) -> None:
    assert next((r for r, p in _ARIA_RULES if p.search(label)), None) == reason
    if reason is not None:
        assert _ARIA_ANY.search(label)
    el = lxml_html.fromstring(f'<div aria-label="{label.title()}">x</div>')
    assert element_reason(el) == reason


def test_cruft_inside_dropped_cruft_is_counted_once() -> None:
    tree = lxml_html.fromstring(
        "<html><body><article><p>Body text of the article.</p>"
        "<div class='related'><h3>More</h3><div class='newsletter'>Sign up</div>"
        "<div hidden>x</div></div>"
        "<div class='cookie'>We use cookies</div>"
        "</article></body></html>"
    )
    removed = Removed()
    strip_html(tree, removed)
    assert removed.as_dict() == {"cookie_notice": 1, "related_list": 1}
    assert tree.text_content() == "Body text of the article."


def test_a_wrapper_holding_the_article_stays_and_its_cruft_goes() -> None:
    tree = lxml_html.fromstring(
        "<html><body><div class='sharing-wrapper'><article><h1>Head</h1>"
        "<p>Body.</p><nav>Menu</nav></article></div></body></html>"
    )
    removed = Removed()
    strip_html(tree, removed)
    assert removed.as_dict() == {"navigation": 1}
    assert tree.find(".//article") is not None


def test_the_root_given_is_never_dropped() -> None:
    tree = lxml_html.fromstring("<div class='related'><p>Only this.</p></div>")
    strip_html(tree, Removed())
    assert tree.text_content() == "Only this."


# Photo credits and account status lines found on trafilatura's evaluation set (half A).
CREDITS_AND_LOGIN = {
    "Photo: Yhomo Hutchinson": "photo_credit",
    "Image credit: www.example.com/in/": "photo_credit",
    "Featured image: Jane Roe via Unsplash": "photo_credit",
    "Titelbild: Geyres Christophe/ABACA/picture-alliance": "photo_credit",
    "Foto: (c) Hans Helmut Muster": "photo_credit",
    "Bildquelle: SWR": "photo_credit",
    "Fotos: Tobias König und Michael Romstöck": "photo_credit",
    "Crédits photos : Bestimage": "photo_credit",
    "Crédit photo : KB / Bondy Blog": "photo_credit",
    "Foto de portada: EFE": "photo_credit",
    "Sie sind aktuell nicht eingeloggt.": "login_status",
    "You are not logged in.": "login_status",
    "Vous n'êtes pas connecté.": "login_status",
    "No has iniciado sesión": "login_status",
}
CREDIT_AND_LOGIN_PROSE = [
    "Das Foto zeigt den Kanzler beim Besuch in Paris.",
    "Photo: the rover's camera captured a dust devil crossing the crater near its landing site.",
    "Bilder: Zwei Welten prallen aufeinander.",
    "The photos: a record of the trip, kept by her daughter.",
    "Crédit photo : la banque a refusé le prêt.",
    "Sie sind nicht eingeloggt, sagte der Techniker, und deshalb sperrte das System die Konten.",
    "You are not logged in to the system when the update runs, the company said.",
    "Vous n'êtes pas connecté à la réalité, lui a lancé le député.",
]


def test_credit_and_login_lines_are_removed() -> None:
    assert {line: line_reason(line) for line in CREDITS_AND_LOGIN} == CREDITS_AND_LOGIN


@pytest.mark.parametrize("sentence", CREDIT_AND_LOGIN_PROSE)
def test_sentences_about_photos_and_logins_stay(sentence: str) -> None:
    assert line_reason(sentence) is None


# Appeals for money or membership under articles (found on half A of trafilatura's set).
SUPPORT_APPEALS = [
    "HAZTE MIEMBRO Y DISFRUTA DE BENEFICIOS EXCLUSIVOS",
    "Hazte socio de example.es",
    "Unterstütze ExampleMag bereits mit 2,50!",
    "❤ Example unterstützen",
    "Jetzt unterstützen!",
    "So könnt ihr uns unterstützen:",
    "Ihnen hat der Artikel gefallen? Bitte helfen Sie example.net und spenden Sie jetzt via "
    "Überweisung oder Kreditkarte/Paypal!",
    "Ihnen gefällt unser Programm? Informationen zu Unterstützungsmöglichkeiten finden Sie hier: "
    "https://example.net/unterstuetzen/",
    "Support independent journalism",
    "Become a member today!",
    "Did you enjoy this article? Please consider supporting us with a contribution.",
    "Soutenez notre rédaction dès 1 euro.",
    "Faites un don",
]
SUPPORT_PROSE = [
    "Die Regierung will die Bauern mit 2,50 Euro pro Tonne unterstützen.",
    "Unterstützen Sie die Reform, Frau Ministerin?",
    "Unterstützen Sie uns, sagte der Sprecher der Tafel.",
    "Become a member of the union, the leaflet urged workers in 1920.",
    "Hazte miembro del partido, le dijo su padre.",
    "Support us, the protesters chanted outside the parliament.",
    "Donate blood: the hospital is short of supplies this winter.",
    "Did you like this article? The survey asked readers about length, not about money.",
    "Spende für die Flutopfer übergeben",
    "Support for the measure has grown since March.",
    "Faites un don de vos organes, plaide le ministre.",
]


@pytest.mark.parametrize("line", SUPPORT_APPEALS)
def test_support_appeals_are_removed(line: str) -> None:
    assert line_reason(line) == "support_appeal"


@pytest.mark.parametrize("sentence", SUPPORT_PROSE)
def test_sentences_about_support_and_donations_stay(sentence: str) -> None:
    assert line_reason(sentence) is None


def _prose(topic: str, n: int = 4) -> str:
    return "".join(
        f"<p>{f'The {topic} report goes on with sentence {i} of plain prose. ' * 4}</p>"
        for i in range(n)
    )


def test_a_post_filed_under_a_widget_word_is_not_that_widget() -> None:
    # WordPress's post_class() names the post's categories and tags.
    tree = lxml_html.fromstring(
        "<div><article class='post type-post category-newsletter tag-social-sharing'>"
        f"{_prose('main')}</article><div class='newsletter-box'>Sign up</div></div>"
    )
    article, box = tree[0], tree[1]
    assert element_reason(article) is None
    assert element_reason(box) == "newsletter_prompt"
    assert element_reason(lxml_html.fromstring("<div class='tag-cloud related'>x</div>")) == (
        "related_list"
    )


def test_a_widget_named_wrapper_holding_most_of_the_prose_stays() -> None:
    html = (
        "<html><body><h1>Funding stopped</h1>"
        f"<div class='documentContent__sharingContainer'>{_prose('main', 5)}</div>"
        "<div class='sharing'>Share Tweet Mail</div>"
        "<div class='cookie-banner'><p>We use cookies to measure traffic on this site.</p></div>"
        "</body></html>"
    )
    tree = lxml_html.fromstring(html)
    removed = Removed()
    strip_html(tree, removed)
    assert "The main report goes on with sentence 4" in tree.text_content()
    assert "Share Tweet" not in tree.text_content()
    assert removed.as_dict() == {"cookie_notice": 1, "share_prompt": 1}


def test_a_long_cookie_banner_beside_a_longer_article_goes() -> None:
    banner = "".join(f"<p>{'We and our partners use cookies for ads and analytics. ' * 3}</p>" * 4)
    tree = lxml_html.fromstring(
        f"<html><body><div class='cookie-consent'>{banner}</div>"
        f"<div class='content'>{_prose('main', 6)}</div></body></html>"
    )
    strip_html(tree, Removed())
    assert "cookies" not in tree.text_content()
    assert "The main report goes on with sentence 5" in tree.text_content()
