"""Line rules remove the UI strings sites print, never article sentences with the same words."""

from __future__ import annotations

from itertools import zip_longest

import pytest

from services.cleaner.cruft import Removed, filter_lines, line_reason
from services.cleaner.extract import extract_html

# Article sentences that share a trigger word with a cruft rule (a reviewer's page and
# the prose it deleted: 6 of its 9 paragraphs went).
PROSE = [
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
CRUFT = {
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
    lines = [line for pair in zip_longest(PROSE, CRUFT) for line in pair if line is not None]
    removed = Removed()
    assert filter_lines(lines, removed) == PROSE
    assert removed.as_dict() == {
        reason: list(CRUFT.values()).count(reason) for reason in set(CRUFT.values())
    }
    assert {line: line_reason(line) for line in CRUFT} == CRUFT


def test_a_normal_article_keeps_every_paragraph() -> None:
    paragraphs = [
        "The Miller family bakery on Main Street will close at the end of the month after "
        "six decades in business, its owners said on Tuesday.",
        *PROSE[:7],
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
