from __future__ import annotations

from services.cleaner.sitelearn import LearnSettings, SiteProfile, apply, observe

CFG = LearnSettings(min_articles=4, min_share=0.5)
TEMPLATE = ["Sign up for the Daily Brief newsletter", "Follow us on Mastodon"]


def page(i: int) -> list[str]:
    return [
        f"Story {i} begins with a fact nobody else printed.",
        *TEMPLATE,
        f"Story {i} ends with a quote of its own.",
    ]


def test_new_site_is_not_harmed_until_there_is_evidence() -> None:
    profile = SiteProfile()
    for i in range(4):
        kept, removed, profile = apply(profile, f"a{i}", page(i), CFG)
        assert removed == 0 and kept == page(i)
    kept, removed, profile = apply(profile, "a4", page(4), CFG)
    assert removed == 2
    assert kept == [page(4)[0], page(4)[3]]
    assert profile.articles == 5


def test_refetching_one_article_does_not_teach_its_text_away() -> None:
    profile = SiteProfile()
    for _ in range(10):
        kept, removed, profile = apply(profile, "same", page(1), CFG)
    assert profile.articles == 1 and removed == 0 and kept == page(1)


def test_a_page_is_never_emptied_and_state_stays_bounded() -> None:
    profile = SiteProfile()
    for i in range(6):
        profile = observe(profile, f"t{i}", TEMPLATE)
    kept, removed, _ = apply(profile, "only-template", TEMPLATE, CFG)
    assert kept == TEMPLATE and removed == 0
    for i in range(3000):
        profile = observe(profile, f"x{i}", [f"unique line {i}", *TEMPLATE])
    assert len(profile.lines) <= 1000 and len(profile.recent) <= 256
    kept, removed, _ = apply(profile, "new", ["Fresh news.", *TEMPLATE], CFG)
    assert kept == ["Fresh news."] and removed == 2


def test_learn_site_updates_the_article_and_the_table() -> None:
    from services.cleaner.pipeline import learn_site
    from services.common.models import Article

    table: dict[str, str] = {}
    for i in range(5):
        art = Article(id=f"a{i}", url=f"https://site.example/{i}", text="", paragraphs=page(i))
        out = learn_site(art, table, CFG)
    assert set(table) == {"site.example"}
    assert out.paragraphs == [page(4)[0], page(4)[3]]
    assert out.removed_lines["site_template"] == 2
    assert "Follow us" not in out.text


def test_partition_for_matches_kafkas_default_partitioner() -> None:
    from aiokafka.partitioner import DefaultPartitioner

    from services.common.topics import partition_for

    for host in ("a.example", "127.0.0.1:8080", "news.example.org"):
        assert partition_for(host, 4) == DefaultPartitioner()(host.encode(), [0, 1, 2, 3], [])
