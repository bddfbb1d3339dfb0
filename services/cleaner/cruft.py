"""Site-builder and CMS cruft that extractors leave behind, removed at two levels.

HTML level: elements that are never article text (scroll anchors, skip links,
hidden nodes, share bars, cookie and newsletter prompts, related lists) are
dropped before extraction. Line level: named rules remove the leftovers that
survive extraction. Every removal is counted by rule name. The English wording is
here; that of other languages is in `cruftwords`, joined into the same rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import html as lxml_html

from services.cleaner import cruftwords as w

# Line rules: name -> pattern matched against a whole stripped line (case-insensitive).
# Rules that look at free text are anchored to the UI strings sites print ("We use
# cookies...", "Subscribe to our newsletter", "Published: 12 March 2024 10:42"): a
# trigger word anywhere in a line ("the bakery uses cookies from...", "published in
# 1998, her book...") is article prose, and a rule matching it deletes a sentence.

# Earlier sentences of the same line: promo blurbs put the call to action last
# ("Get the latest updates. Subscribe to NJ.com's newsletters.").
_LEAD = r"(.{0,250}?[.!?] )?"
# Text within one sentence: a full stop only where no space follows ("NJ.com").
_IN_SENTENCE = r"(?:[^.!?]|[.!?](?=\S))"
_SOCIAL = r"twitter|facebook|instagram|linkedin|youtube|tiktok|threads|bluesky|mastodon|x"
# Words that cookie banners use and prose about cookies (the baked kind) does not.
_COOKIE_BANNER = (
    r"experience|browsing|browser|traffic|analytics|personali[sz]\w*|advertis\w*|consent|"
    r"privacy|cookie policy|our services|(this|our) (web ?)?site"
)
_MONTH = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?"
)
_WEEKDAY = r"mon(day)?|tue(s(day)?)?|wed(nesday)?|thu(rs(day)?)?|fri(day)?|sat(urday)?|sun(day)?"
_TIME = r"\d{1,2}[:h.]\d\d(:\d\d)?"
# One word of a printed timestamp: "10:42", "AM", "EST", "Tue", "March", "5", "2024",
# "2024-03-05", "05/03/2024", "2 hours ago". Zones are upper case only ("EST", not "the").
# Atomic and followed by a separator, so that a word can be read only one way: with
# overlapping readings ("MAR" a month or a zone) a non-matching line backtracks
# exponentially.
_DATE_SEP = r"[\s,|·•–—-]"
_DATE_WORD = (
    rf"(?>(?:\d{{4}}-\d\d-\d\dT[\d:.+-]+Z?|\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}|{_TIME}"
    rf"|\d{{1,4}}(st|nd|rd|th)?|[ap]\.?m\.?|({_MONTH}|{_WEEKDAY})\.?"
    r"|(?-i:[A-Z]{2,5})([+-]\d{1,2}(:?\d\d)?)?"
    rf"|at|on|ago|hours?|hrs?|minutes?|mins?|days?|weeks?)(?={_DATE_SEP}|$))"
)
_TIMESTAMP = rf"(?=.*\d){_DATE_WORD}({_DATE_SEP}++{_DATE_WORD})*"
# A whole line that reads as a sentence: it ends in . ! or ? (not the one of "p.m.").
_SENTENCE_END = r"(?<![ap]\.m)[.!?]"
# One tag of a tag list: a few words ("Politics", "Middle East", "#gaza").
_TAG = r"#?[\w'’&.+]+( [\w'’&.+-]+){0,3}"
# The title of a linked story: a headline starts with a capital, digit or quote and
# has no closing full stop, unlike prose after a colon ("Related: the senator's...").
_HEADLINE = r"(?-i:[A-Z0-9\"“‘'«]).{0,199}(?<![.,;])"


def _needs(words: str, pattern: str) -> str:
    """`pattern` behind a check that the line has one of `words`: most lines are prose
    that no rule matches, and one scan for a word rejects them faster than the rule."""
    return rf"(?=.*?({words}))(?:{pattern})"


LINE_RULES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        # Wix renders its scroll anchors as the literal text "top of page" / "bottom of page".
        "scroll_anchor": rf"((top|bottom) of (the )?page|(back|scroll) to top|{w.SCROLL_ANCHOR})"
        r"\s*[↑⬆▲^]?",
        "skip_link": rf"skip to (the )?(main )?(content|navigation|main|article)|{w.SKIP_LINK}",
        # "Share on Facebook", "Email this article", "Tweet this" (not "Share on the market
        # fell", "Email on Tuesday was...": "on" takes a network, "this" a short object).
        "share_prompt": rf"(share|tweet|pin|email|e-mail|send|post) (it |this )?(on|via|to) "
        rf"({_SOCIAL}|pinterest|whatsapp|reddit|e-?mail|messenger|telegram|flipboard|sms)\b.{{0,20}}"
        r"|(share|tweet|pin|email|e-mail|send) this( (post|article|story|page|link|video))?"
        r"( (with|to) (a friend|friends|your friends))?[.!]?"
        r"|share this (post|article|story)|copy link|share"
        r"|like this (story|article|post)\?.{0,60}"
        # WordPress (Jetpack) under every post: "Share this:", "Like this:", "Loading..."
        r"|(share|like) this:|loading(\.\.\.|…)"
        rf"|(?=.{{0,80}}$)({w.SHARE})\s*:?",
        # "We use cookies to...", "This site uses cookies...", "Example.com uses cookies
        # to improve your experience", "By continuing to use this site you agree to our
        # use of cookies", "Accept all cookies".
        "cookie_notice": _needs(
            "cookie",
            rf"{_LEAD}we( and our \w+)? use cookies(\s*[.!]?$|(?={_IN_SENTENCE}{{0,80}}"
            rf"\b({_COOKIE_BANNER})\b).{{0,250}})"
            rf"|{_LEAD}(this|our) (web ?site|site|page|app|service) uses cookies\b.{{0,250}}"
            rf"|{_LEAD}([\w-]+(\.[\w-]+)+|(?-i:[A-Z][\w&'’-]*)( (?-i:[A-Z][\w&'’-]*)){{0,2}})"
            rf" uses cookies\b"
            rf"(?={_IN_SENTENCE}{{0,80}}\b({_COOKIE_BANNER})\b).{{0,250}}"
            r"|by (continuing|using|clicking|browsing).{0,150}\b(use of cookies|cookie policy)\b"
            r".{0,200}"
            r"|(accept|allow|reject|decline|manage)( all| necessary| essential)? cookies"
            r"|cookies? (settings|preferences|policy|notice)"
            rf"|{_LEAD}({w.COOKIE_SITE_USES})( [\w-]+){{0,3}} cookies?\b.{{0,250}}"
            rf"|{_LEAD}({w.COOKIE_WE_USE})( [\w-]+){{0,3}} cookies?\b(\s*[.!]?$"
            rf"|(?={_IN_SENTENCE}{{0,80}}\b({w.COOKIE_BANNER})\b).{{0,250}})"
            rf"|{w.COOKIE_LINES}",
        ),
        # A call to action, not a report about a newsletter: the sentence opens with the
        # verb ("Sign up for...", "Get ... by subscribing to our newsletter").
        "newsletter_prompt": _needs(
            w.NEWSLETTER,
            rf"{_LEAD}((you can|you may|please) (also )?)?"
            rf"(subscribe|sign up|sign-up|register|join|get|receive|never miss)\b"
            rf"{_IN_SENTENCE}{{0,120}}\b(our|your|this|the|[\w.-]+['’]s)( [\w'’&-]+){{0,3}} "
            r"newsletters?\b[^,]{0,100}"
            # Other languages: the imperative opens the sentence ("Abonnieren Sie...").
            rf"|{_LEAD}((jetzt|hier|bitte) )?({w.NEWSLETTER_CTA}|{w.NEWSLETTER_OURS})\b"
            rf"{_IN_SENTENCE}{{0,120}}?\b[\w-]*({w.NEWSLETTER})\b[^,]{{0,100}}"
            rf"|{w.NEWSLETTER_LINES}",
        ),
        # The author's or the desk's contact line under the article: "Follow" opens a
        # sentence ("Fans follow her every move on Instagram" is prose).
        "author_contact": _needs(
            r"tip\?|follow|@|folg|suivez|retrouvez|s[ií]g|seguinos|seguici|siga|segue|volg",
            r"(have|got) a (news )?tip\?.{0,250}"
            rf"|{_LEAD}follow (us|him|her|them|me|@\w+)\b.{{0,40}}\b({_SOCIAL})\b.{{0,150}}"
            rf"|{_LEAD}follow [\w@.'’ ]{{1,50}} on ({_SOCIAL})\b.{{0,200}}"
            r"|(write to|e-?mail) [\w.'’ -]{1,60} at \S+@\S+.{0,150}"
            rf"|{_LEAD}({w.FOLLOW_US})\b.{{0,40}}\b({w.NETWORKS})\b.{{0,150}}",
        ),
        # Taxonomy lines: "Tags: a, b", "Filed under: x" (short items, not a sentence).
        "taxonomy": rf"(tags?|tagged( with)?|filed under|posted in|categor(y|ies)|{w.TAXONOMY})"
        rf"\s*:\s*{_TAG}(\s*[,|;/•·]\s*{_TAG})*|tags|filed under|{w.TAXONOMY}",
        # A dateline on its own: a short line with a year and a time of day that is not a
        # sentence ("5:45 AM PST 11/19/2019 by Patrick Shanley"), or a labelled timestamp
        # ("Published: 12 March 2024 10:42", "Updated 10:42 AM EST, Tue March 5, 2024").
        # A capitalised word opening a line that ends in "p.m." is a sentence ("The 2024
        # debate starts at 9:00 p.m."), not a timestamp.
        "dateline": rf"(?!(?-i:[A-Z][a-z]+)\s.*[ap]\.m\.$)(?=.{{0,80}}$)"
        rf"(?=.*\b\d{{1,2}}[:h]\d\d\b)(?=.*\b(19|20)\d\d\b)"
        rf"(?!(\S+\s+){{10}})(?!.*{_SENTENCE_END}$).*"
        rf"|(last |first )?(updated|published|posted|modified|edited)( at| on)?:? {_TIMESTAMP}",
        # Unrendered WordPress shortcodes: "[button link=...]Send us...[/button]".
        "shortcode": r".{0,200}\[/[a-z_-]+\].{0,200}",
        # "© 2023 by News of War. Proudly created with Wix.com", "Powered by WordPress",
        # "This site is built with Squarespace" (not "her website was made with WordPress").
        "builder_credit": r"((©|\(c\)|copyright)[^.|]{0,60}[.|]\s+|[^|·]{0,60}[|·]\s*)?"
        r"((this )?(web ?site|site|blog|page) (is )?)?(proudly )?"
        r"(created|made|built|powered|designed|hosted) (with|by|on|using) "
        r"(wix|squarespace|wordpress|weebly|godaddy|webflow|blogger|ghost|jimdo)(\.com)?\.?",
        "post_stats": r"\d+ (min|minute)s? read|\d+ views?( \d+ comments?)?|\d+ comments?|"
        rf"see all|recent posts|related (posts|articles|stories)|{w.POST_STATS}",
        # Comment sections' labels and prompts ("Kommentare (3)", "Laisser un commentaire").
        "comment_prompt": _needs(
            rf"{w.COMMENT_WORDS}|eingeloggt|angemeldet|registriert",
            rf"({w.COMMENT_PROMPT})\s*[>»›:]?",
        ),
        # "© 2024 Example GmbH. Alle Rechte vorbehalten.", "Tous droits réservés",
        # "Impressum | Datenschutz | Kontakt".
        "legal_footer": r"(?=.*(reserv|réserv|vorbehalten|riservat|voorbehouden))"
        rf"(.{{0,100}}?(©|\(c\)|copyright|\b(19|20)\d\d\b).{{0,80}}?"
        rf"[\s.,:|–—-])?({w.RIGHTS_RESERVED})[.!]?(\s*[|·•–—-]?\s*({w.LEGAL_TAIL}))?"
        rf"|{w.LEGAL_STATEMENT}|({w.LEGAL_LINK})(\s*[|·•/,–—-]\s*({w.LEGAL_LINK}))+"
        rf"|{w.LEGAL_LINK_ALONE}",
        # "Story continues below advertisement" (Global News, Postmedia), "Continue
        # reading below", "Article continues after this ad".
        # A photo credit on its own line: a label, a colon and a few words that are no
        # sentence ("Foto: dpa", "Titelbild: Name/Agentur", "Image credit: example.com").
        # A caption that is a sentence ("Photo: the rover crossed ... on Tuesday.") stays.
        "photo_credit": rf"({w.CREDIT_LABEL})\s*:\s*(?!(\S+\s+){{8}}\S)"
        r"(?=.*\w).{1,80}(?<![.!?])",
        "login_status": rf"({w.LOGIN_STATUS})[.!]?",
        "support_appeal": rf"({w.SUPPORT_APPEAL})[.!]?|{w.LIKED_IT}",
        "advertisement": r"advertisement|sponsored content|ad"
        r"|(the )?(story|article) continues (below|after)( (this|the))?( advertisement| ad)?"
        r"|continue reading (below|after( (this|the))? (advertisement|ad))"
        rf"|(?=.{{0,80}}$)({w.ADVERTISEMENT})|{w.AFFILIATE}",
        # Cross-promotion of other stories: "Read more: <headline>", "Related: ...",
        # "Also on example.com <headline>", or the bare heading of such a list.
        "read_more": r"(read more|read also|also read|see also|see more|more|related"
        rf"( (posts?|stories|articles|coverage|content|reading|links?))?)\s*:(\s+{_HEADLINE})?"
        r"|also on [\w-]+(\.[\w-]+)+\b.{0,200}|don'?t miss|also:"
        # Other languages: the label alone ("Weiterlesen »") or before a headline.
        rf"|({w.READ_MORE})(( [\w'’-]+){{0,4}}\s*:(\s+{_HEADLINE})?|\s*(\.\.\.|[»›>→…])*)"
        rf"|({w.ALSO_ON}) [\w-]+(\.[\w-]+)+\b(\s*:?\s*{_HEADLINE})?",
    }.items()
}

# HTML elements removed before extraction. One pass over the tree in Python: eight
# XPath queries with translate() took about 30% of the cleaner's time.
_ID_CLASS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("scroll_anchor", re.compile(r"\bscroll_to_(top|bottom)\b")),
    ("share_prompt", re.compile(rf"share-bar|social-share|sharing|{w.ID_CLASS_SHARE}")),
    ("cookie_notice", re.compile(r"cookie|consent|gdpr")),
    ("newsletter_prompt", re.compile(rf"newsletter|{w.ID_CLASS_NEWSLETTER}")),
    ("related_list", re.compile(rf"related|recent-posts|{w.ID_CLASS_RELATED}")),
    # Cards shown on hover (a person's latest stories beside their name in the text).
    ("hover_card", re.compile(r"tooltip|popover|rollover|hover-?card")),
)
_ARIA_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("scroll_anchor", re.compile(r"(top|bottom) of page")),
    ("share_prompt", re.compile(rf"share|{w.ARIA_SHARE}")),
    ("related_list", re.compile(rf"recent posts|related|{w.ARIA_RELATED}")),
)
# One search that any of the rules above would match: most elements match none, and
# for them one search replaces one per rule.
# Joined bare (a|b|c, not (?:a|b)|(?:c)) and without a leading \b, the alternatives all
# start with a literal and the regex engine skips ahead on their first characters: a
# looser match than the rules', which is fine for a filter (the rules still decide).
# For the same reason the filter drops the rules' word-start conditions ("teilen" but not
# "verteilen"): an alternative that opens with one would cost the skip for all of them.
_WORD_START = (r"(?<![a-z])", r"\b")


def _loose(pattern: str) -> str:
    for condition in _WORD_START:
        pattern = pattern.replace(condition, "")
    return pattern


_ID_CLASS_ANY = re.compile("|".join(_loose(p.pattern) for _, p in _ID_CLASS_RULES))
_ARIA_ANY = re.compile("|".join(_loose(p.pattern) for _, p in _ARIA_RULES))
# Rules that may drop an element even when it holds the article (a hidden or
# scroll-anchor wrapper never holds the visible article).
_ALWAYS = frozenset({"hidden", "scroll_anchor"})


# The classes WordPress's post_class() gives a post for each of its categories and tags
# ("category-newsletter", "tag-cookies", "tag-social-sharing"): they name what the post
# is about, not what the element is, and an article filed under "Newsletter" is no
# newsletter box.
_TAXONOMY_CLASS = re.compile(r"(?<!\S)(?:category|tag)-\S+")


def element_reason(el: lxml_html.HtmlElement) -> str | None:
    """The rule that marks `el` as cruft, or None."""
    get = el.get
    if get("hidden") is not None or get("aria-hidden") == "true":
        return "hidden"
    style = get("style")
    if style and "display:none" in style.replace(" ", "").lower():
        return "hidden"
    tag = el.tag
    if tag == "nav" or get("role") == "navigation":
        return "navigation"
    if tag == "a":
        href = get("href", "")
        if href.startswith("#") and "skip" in (el.text_content() or "").lower():
            return "skip_link"
    aria = get("aria-label")
    if aria:
        aria = aria.lower()
        if _ARIA_ANY.search(aria):
            for reason, pattern in _ARIA_RULES:
                if pattern.search(aria):
                    return reason
    ident, klass = get("id"), get("class")
    if ident or klass:
        text = f"{ident or ''} {klass or ''}".lower()
        if _ID_CLASS_ANY.search(text):
            if _TAXONOMY_CLASS.search(text):
                text = _TAXONOMY_CLASS.sub(" ", text)
            for reason, pattern in _ID_CLASS_RULES:
                if pattern.search(text):
                    return reason
    if tag == "form" and el.find(".//input[@type='email']") is not None:
        return "newsletter_prompt"
    return None


@dataclass
class Removed:
    """Lines and elements removed, by rule name."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] += n

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


# Widgets that hold a few words (a share bar, a cookie banner, a newsletter box): one that
# holds most of the page's paragraph text is the content's wrapper with an unlucky name
# ("documentContent__sharingContainer"), not the widget.
_WIDGETS = frozenset({"share_prompt", "cookie_notice", "newsletter_prompt"})
MIN_WRAPPER_PROSE = 500
WRAPPER_PROSE_SHARE = 0.8


def _prose_chars(el: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content().strip()) for p in el.iter("p"))


def strip_html(tree: lxml_html.HtmlElement, removed: Removed) -> lxml_html.HtmlElement:
    """Drop cruft elements in place; never `tree` itself, its <html>, <head> or <body>.

    One iteration over the tree finds the candidates (no recursion: deeply nested pages
    must not blow the stack); they are then decided in document order, each one before
    its descendants and with its subtree as parsed, and a candidate inside a dropped
    element is skipped.
    """
    candidates = [
        (el, reason)
        for el in tree.iterdescendants()
        if isinstance(el.tag, str)
        and el.tag not in ("html", "head", "body")
        and (reason := element_reason(el)) is not None
    ]
    dropped: set[lxml_html.HtmlElement] = set()
    page_prose: int | None = None
    for el, reason in candidates:
        if dropped and any(a in dropped for a in el.iterancestors()):
            continue
        # Hover cards nest (trigger wrapper > link > card): only the innermost is
        # dropped, never the link, so the linked name the card belongs to stays.
        if reason == "hover_card" and (
            el.tag == "a" or any(element_reason(d) == "hover_card" for d in el.iterdescendants())
        ):
            continue
        # Keep a matched element that holds the article itself (a share-labelled wrapper).
        if reason not in _ALWAYS and (
            el.find(".//article") is not None or el.find(".//h1") is not None
        ):
            continue
        # ... or most of the page's prose (measured, once, on what is left of the page).
        if reason in _WIDGETS:
            prose = _prose_chars(el)
            if prose >= MIN_WRAPPER_PROSE:
                if page_prose is None:
                    page_prose = _prose_chars(tree)
                if prose >= WRAPPER_PROSE_SHARE * page_prose:
                    continue
        text = el.text_content().strip()
        removed.add(reason, max(1, text.count("\n") + 1) if text else 1)
        el.drop_tree()
        dropped.add(el)
    return tree


# Headings of lists of links to other stories ("More Great Stories", "Don't miss").
_PROMO_HEADING = re.compile(
    r"((more|other|related|recommended|popular|trending|top|latest)\b.{0,40}\b"
    r"(stories|articles|news|posts|reads|headlines|coverage|videos)"
    r"|don'?t miss|read (more|next|also)|see also|you (may|might) also like|further reading"
    r"|related( links| content)?|also on .{1,30}"
    rf"|{w.PROMO_HEADING})\W*",
    re.IGNORECASE,
)
MAX_PROMO_HEADING_CHARS = 60
# Share of a paragraph's text in links for it to be a list of links.
PROMO_LINK_SHARE = 0.5


def _is_link_list(el: lxml_html.HtmlElement) -> bool:
    if el.tag in ("ul", "ol"):
        items = [li for li in el if li.tag == "li"]
        return bool(items) and all(li.find(".//a") is not None for li in items)
    text = len(el.text_content().strip())
    links = sum(len(a.text_content().strip()) for a in el.iter("a"))
    return text > 0 and links >= PROMO_LINK_SHARE * text


def drop_promo_lists(tree: lxml_html.HtmlElement, removed: Removed) -> int:
    """Drop lists of links to other stories with their heading ("More stories" + a list).

    The heading is a short element whose whole text names such a list; the list is
    the element right after it: a list whose every item is a link, or a paragraph
    mostly made of links. Returns how many lists were dropped.
    """
    dropped = 0
    for el in list(tree.iter("ul", "ol", "p")):
        heading = el.getprevious()
        if heading is None or not isinstance(heading.tag, str) or heading.tag in ("ul", "ol"):
            continue
        title = " ".join(heading.text_content().split())
        if not title or len(title) > MAX_PROMO_HEADING_CHARS:
            continue
        if not _PROMO_HEADING.fullmatch(title) or not _is_link_list(el):
            continue
        removed.add("promo_list", 1 + len(el))
        heading.drop_tree()
        el.drop_tree()
        dropped += 1
    return dropped


# Words (lower case) one of which a line must hold for the rule to be asked: each of
# these rules' patterns has one of them. Most lines are prose that no rule matches, and
# a substring scan rejects them several times faster than the patterns of six languages.
GATES: dict[str, tuple[str, ...]] = {
    "cookie_notice": ("cookie",),
    "newsletter_prompt": w.NEWSLETTER_GATE,
    "author_contact": ("tip?", "follow", "@", *w.FOLLOW_GATE),
    "comment_prompt": w.COMMENT_GATE,
    "legal_footer": w.LEGAL_GATE,
    "photo_credit": (":",),
    "login_status": w.LOGIN_GATE,
    "support_appeal": w.SUPPORT_GATE,
}


def line_reason(line: str) -> str | None:
    """The name of the rule that says `line` is cruft, or None when it is content."""
    text = " ".join(line.split()).strip(" |·•-–—")
    if not text:
        return None
    if len(text) > 300:  # rules describe short UI strings; long lines are prose
        return None
    lower = text.lower()
    for name, pattern in LINE_RULES.items():
        gate = GATES.get(name)
        if gate is not None and not any(word in lower for word in gate):
            continue
        if pattern.fullmatch(text):
            return name
    return None


def filter_lines(lines: Iterable[str], removed: Removed) -> list[str]:
    kept = []
    for line in lines:
        reason = line_reason(line)
        if reason is None:
            kept.append(line)
        else:
            removed.add(reason)
    return kept
