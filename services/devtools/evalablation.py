"""What each cleaner rule is worth: every rule switched off in turn, both datasets scored.

    python -m services.devtools.evalablation [DATASETS_DIR] --out results/ablation-cleaner.json

For each switch in ABLATIONS (a line rule's family, an element rule, a promo list, a
tree fix of `bodyfix`, trailing-heading trimming, the head take-off, the rescue, the
fallback cascade...) the cleaner's `extract` runs over the article-extraction-benchmark
(AEB: shingle F1 per page, `scoring.match`) and trafilatura-eval-dev (snippet F1 per
page, 2tp / (2tp + fp + fn)) with that switch off, and the per-page F1 is compared
with the cleaner as it is. A page the rule *helps* scores more with the rule on; one
it *hurts* scores more without it. Flags: `fitted` when the rule helps on one to
FITTED_MAX_PAGES pages of both sets together, `idle` when it changes no page at all (it
is not tested by these sets), `hurts` when it costs some page more than HURT_F1.

It also splits eval-dev into two halves by site (`half_of`: the registered domain of
the page's URL, the file's hash where the page has no URL), a stand-in for the held-out
half: the cleaner's margin over bare trafilatura on each, and the near-misses of the
lost-article rule (bare text >= 500 characters, the cleaner's body under NEAR_SHARE of
it) on both sets.

Extraction runs in `--jobs` processes (fork), one task per switch and dataset chunk.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.cleaner import bodyfix, cruft, rescue
from services.cleaner import extract as extract_module
from services.devtools import evalextract, evalsnippets, scoring

FITTED_MAX_PAGES = 2
HURT_F1 = 0.05
NEAR_SHARE = 0.6
CHUNK = 60

# (object, attribute, value) triples set while a switch is off.
Patch = tuple[Any, str, Any]


def _line_rule_off(name: str) -> list[Patch]:
    rules = {k: v for k, v in cruft.LINE_RULES.items() if k != name}
    return [(cruft, "LINE_RULES", rules)]


def _element_rule_off(name: str) -> list[Patch]:
    original = cruft.element_reason

    def reason(el: Any) -> str | None:
        found = original(el)
        return None if found == name else found

    return [
        (cruft, "_ID_CLASS_RULES", tuple(r for r in cruft._ID_CLASS_RULES if r[0] != name)),
        (cruft, "_ARIA_RULES", tuple(r for r in cruft._ARIA_RULES if r[0] != name)),
        (cruft, "element_reason", reason),
    ]


def _noop(module: Any, name: str) -> list[Patch]:
    return [(module, name, lambda *args, **kwargs: 0)]


def _no_rescue(html: str, doc: Any, lines: list[str], *args: Any) -> Any:
    return lines, None


def _keep_head(paragraphs: list[str], titles: list[str], byline: str | None, removed: Any) -> Any:
    return list(paragraphs), byline, False


def _element_names() -> list[str]:
    names = ["hidden", "navigation", "skip_link"]
    for name, _ in (*cruft._ID_CLASS_RULES, *cruft._ARIA_RULES):
        if name not in names:
            names.append(name)
    return names


def ablations() -> dict[str, list[Patch]]:
    """Every switch: its name and the patches that turn it off."""
    out: dict[str, list[Patch]] = {}
    for name in cruft.LINE_RULES:
        out[f"line:{name}"] = _line_rule_off(name)
    for name in _element_names():
        out[f"element:{name}"] = _element_rule_off(name)
    out["element:newsletter_form"] = [
        (cruft, "element_reason", _form_blind(cruft.element_reason)),
    ]
    out["element:guard_article_h1"] = [(cruft, "_ALWAYS", _Everything())]
    out["element:guard_wrapper_prose"] = [(cruft, "MIN_WRAPPER_PROSE", 10**9)]
    out["element:guard_taxonomy_class"] = [(cruft, "_TAXONOMY_CLASS", _NEVER)]
    out["promo_list"] = [(extract_module, "drop_promo_lists", lambda *a: 0)]
    for fix in (
        "protect_article_body",
        "protect_embeds",
        "merge_body_chunks",
        "drop_empty_before_text",
        "drop_spacing_classes",
        "mark_layout_tables",
        "unwrap_anchors_without_href",
    ):
        out[f"bodyfix:{fix}"] = _noop(bodyfix, fix)
    out["trailing_heading"] = [
        (extract_module, "drop_trailing_headings", lambda lines, *a: list(lines))
    ]
    out["head_takeoff"] = [(extract_module, "_take_head", _keep_head)]
    out["rescue"] = [(extract_module, "_rescued_body", _no_rescue)]
    out["fallback_cascade"] = [(extract_module, "FALLBACK_BELOW_CHARS", 0)]
    return out


class _Never:
    def search(self, text: str) -> None:
        return None

    def sub(self, repl: str, text: str) -> str:
        return text


_NEVER = _Never()


class _Everything:
    """Every rule in `cruft._ALWAYS`: no element is kept for holding an <article> or <h1>."""

    def __contains__(self, item: object) -> bool:
        return True


def _form_blind(original: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def reason(el: Any) -> str | None:
        found = original(el)
        if found == "newsletter_prompt" and el.tag == "form":
            ident = f"{el.get('id') or ''} {el.get('class') or ''}".lower()
            if not cruft._ID_CLASS_ANY.search(ident):
                return None
        return found

    return reason


@contextmanager
def switched_off(patches: Sequence[Patch]) -> Iterator[None]:
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, value in patches:
            setattr(obj, attr, value)
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)


@dataclass(frozen=True)
class Pages:
    aeb: list[evalextract.Doc]
    dev: list[evalsnippets.SnippetDoc]


_PAGES: Pages | None = None  # set before the pool forks


def _html(dataset: str, i: int) -> str:
    assert _PAGES is not None
    return (_PAGES.aeb if dataset == "aeb" else _PAGES.dev)[i].html


def _newswire(html: str) -> str:
    try:
        return evalextract.newswire(html)
    except Exception:  # no content or a crash: an empty body, as evalextract scores it
        return ""


# Switches run on every page: what they guard is not seen by the recording below.
ALWAYS_RUN = frozenset({"element:guard_article_h1", "element:guard_taxonomy_class"})
_touched: set[str] = set()


def _recording() -> list[Patch]:
    """Patches that note, per page, every switch whose rule fired (or matched)."""
    line_reason, element_reason = cruft.line_reason, cruft.element_reason

    def line(text: str) -> str | None:
        found = line_reason(text)
        if found:
            _touched.add(f"line:{found}")
        return found

    def element(el: Any) -> str | None:
        found = element_reason(el)
        if found:
            _touched.add(f"element:{found}")
            if found == "newsletter_prompt" and el.tag == "form":
                _touched.add("element:newsletter_form")
            if found in cruft._WIDGETS:
                _touched.add("element:guard_wrapper_prose")
        return found

    def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if result:
                _touched.add(name)
            return result

        return wrapper

    def shortened(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(lines: list[str], *args: Any) -> Any:
            result = fn(lines, *args)
            kept = result[0] if isinstance(result, tuple) else result
            if len(kept) != len(lines):
                _touched.add(name)
            return result

        return wrapper

    rescued_body, bare_extraction = extract_module._rescued_body, extract_module._bare_extraction

    def rescue_body(*args: Any) -> Any:
        result = rescued_body(*args)
        if result[1] is not None:
            _touched.add("rescue")
            _touched.add("*")  # every switch may change whether it happens
        return result

    def bare(tree: Any, *, fast: bool) -> Any:
        if not fast:
            _touched.add("fallback_cascade")
        return bare_extraction(tree, fast=fast)

    patches: list[Patch] = [
        (cruft, "line_reason", line),
        (cruft, "element_reason", element),
        (extract_module, "drop_promo_lists", counted("promo_list", cruft.drop_promo_lists)),
        (extract_module, "drop_trailing_headings", shortened("trailing_heading", cruft_trim)),
        (extract_module, "_take_head", shortened("head_takeoff", extract_module._take_head)),
        (extract_module, "_rescued_body", rescue_body),
        (extract_module, "_bare_extraction", bare),
    ]
    for switch in ablations():
        if switch.startswith("bodyfix:"):
            fix = switch.split(":", 1)[1]
            patches.append((bodyfix, fix, counted(switch, getattr(bodyfix, fix))))
    return patches


cruft_trim = extract_module.drop_trailing_headings


Task = tuple[str, str, list[int]]


def _extract_task(task: Task) -> tuple[str, str, list[int], list[str], list[set[str]]]:
    """One switch over some pages of a dataset; "none" also records what fired."""
    switch, dataset, indexes = task
    patches = _recording() if switch == "none" else ablations()[switch]
    texts, touched = [], []
    with switched_off(patches):
        for i in indexes:
            _touched.clear()
            texts.append(_newswire(_html(dataset, i)))
            touched.append(set(_touched))
    return switch, dataset, indexes, texts, touched


def _bare_task(task: Task) -> tuple[str, str, list[int], list[str], list[set[str]]]:
    _, dataset, indexes = task
    texts = [evalextract.trafilatura_no_comments(_html(dataset, i)) for i in indexes]
    return "bare", dataset, indexes, texts, [set() for _ in indexes]


def _chunks(switch: str, dataset: str, indexes: list[int]) -> list[Task]:
    return [(switch, dataset, indexes[i : i + CHUNK]) for i in range(0, len(indexes), CHUNK)]


def run_all(pages: Pages, switches: Sequence[str], jobs: int) -> dict[str, dict[str, list[str]]]:
    """{switch: {"aeb": texts, "dev": texts}}; "none" is the cleaner as it is, "bare"
    trafilatura's default extraction. A switch runs only on the pages where the cleaner
    as it is fired its rule (or rescued the body): elsewhere its text is the cleaner's."""
    global _PAGES
    _PAGES = pages
    sizes = {"aeb": len(pages.aeb), "dev": len(pages.dev)}
    out: dict[str, dict[str, list[str]]] = {}
    touched: dict[str, list[set[str]]] = {d: [set() for _ in range(n)] for d, n in sizes.items()}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        first = [t for d, n in sizes.items() for t in _chunks("none", d, list(range(n)))]
        for switch, dataset, indexes, texts, marks in (
            *pool.imap_unordered(_bare_task, first),
            *pool.imap_unordered(_extract_task, first),
        ):
            texts_of = out.setdefault(switch, {d: [""] * n for d, n in sizes.items()})[dataset]
            for i, text, mark in zip(indexes, texts, marks, strict=True):
                texts_of[i] = text
                touched[dataset][i] |= mark
        tasks: list[Task] = []
        for switch in switches:
            if switch == "none":
                continue
            out[switch] = {d: list(out["none"][d]) for d in sizes}
            for dataset in sizes:
                indexes = [
                    i
                    for i, mark in enumerate(touched[dataset])
                    if switch in ALWAYS_RUN or switch in mark or "*" in mark
                ]
                tasks += _chunks(switch, dataset, indexes)
        print(f"  {len(tasks)} ablation tasks", file=sys.stderr, flush=True)
        for n, (switch, dataset, indexes, texts, _) in enumerate(
            pool.imap_unordered(_extract_task, tasks), 1
        ):
            for i, text in zip(indexes, texts, strict=True):
                out[switch][dataset][i] = text
            if n % 10 == 0:
                print(f"  {n}/{len(tasks)} tasks", file=sys.stderr, flush=True)
    return out


def _registered_domain(host: str) -> str:
    labels = host.lower().removeprefix("www.").split(".")
    # "example.co.uk", "example.com.pa": a generic second level under a country code.
    generic = {"co", "com", "org", "net", "gov", "ac", "edu", "or", "ne", "go", "gob"}
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in generic:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def site_of(doc_id: str, url: str) -> str:
    """The page's site: the registered domain of its URL, or its file's name."""
    for candidate in (url, doc_id):
        if candidate.startswith(("http://", "https://")):
            host = urlsplit(candidate.strip()).hostname
            if host:
                return _registered_domain(host)
    return f"file:{doc_id}"


def half_of(doc_id: str, url: str) -> str:
    """ "A" or "B": a stable split by site (a hash, so that neither half is chosen)."""
    digest = hashlib.sha256(site_of(doc_id, url).encode()).digest()
    return "A" if digest[0] % 2 == 0 else "B"


def _snippet_f1(c: scoring.SnippetCounts) -> float:
    total = 2 * c.tp + c.fp + c.fn
    return 2 * c.tp / total if total else 1.0


def page_scores(pages: Pages, texts: dict[str, list[str]]) -> dict[str, list[Any]]:
    return {
        "aeb": [scoring.match(d.gold, t) for d, t in zip(pages.aeb, texts["aeb"], strict=True)],
        "dev": [
            scoring.snippets(t, d.with_, d.without)
            for d, t in zip(pages.dev, texts["dev"], strict=True)
        ],
    }


def _f1s(scores: dict[str, list[Any]]) -> dict[str, list[float]]:
    return {"aeb": [m.f1 for m in scores["aeb"]], "dev": [_snippet_f1(c) for c in scores["dev"]]}


def set_f1(scores: dict[str, list[Any]], dataset: str, idx: Sequence[int] | None = None) -> float:
    items = scores[dataset] if idx is None else [scores[dataset][i] for i in idx]
    if dataset == "aeb":
        return scoring.aggregate(items).f1
    return scoring.snippet_totals(items).f1


def _ids(pages: Pages, dataset: str) -> list[str]:
    return [d.id for d in (pages.aeb if dataset == "aeb" else pages.dev)]


def ablation_table(
    pages: Pages, runs: dict[str, dict[str, list[str]]], switches: Sequence[str]
) -> list[dict[str, Any]]:
    base_scores = page_scores(pages, runs["none"])
    base = _f1s(base_scores)
    halves = _halves(pages)
    rows = []
    for switch in switches:
        if switch == "none":
            continue
        scores = page_scores(pages, runs[switch])
        off = _f1s(scores)
        row: dict[str, Any] = {"rule": switch}
        helped_total = 0
        worst_hurt = 0.0
        for dataset in ("aeb", "dev"):
            ids = _ids(pages, dataset)
            # Positive: the rule (switched on) raises this page's F1.
            delta = [b - o for b, o in zip(base[dataset], off[dataset], strict=True)]
            helped = [(ids[i], round(d, 4)) for i, d in enumerate(delta) if d > 1e-9]
            hurt = [(ids[i], round(d, 4)) for i, d in enumerate(delta) if d < -1e-9]
            helped_total += len(helped)
            worst_hurt = min([worst_hurt, *(d for _, d in hurt)])
            row[dataset] = {
                "improved": len(helped),
                "hurt": len(hurt),
                "net_f1": round(set_f1(base_scores, dataset) - set_f1(scores, dataset), 4),
                "helped_pages": sorted(helped, key=lambda p: -p[1])[:5],
                "hurt_pages": sorted(hurt, key=lambda p: p[1])[:5],
            }
            if dataset == "dev":
                for half, idx in halves.items():
                    row[dataset][f"net_f1_{half}"] = round(
                        set_f1(base_scores, dataset, idx) - set_f1(scores, dataset, idx), 4
                    )
        # Idle: no page of either set changes (the rule is untested here, not fitted).
        row["idle"] = helped_total == 0 and worst_hurt == 0.0
        row["fitted"] = 0 < helped_total <= FITTED_MAX_PAGES
        row["hurts"] = worst_hurt < -HURT_F1
        row["worst_hurt"] = round(worst_hurt, 4)
        rows.append(row)
    return rows


def _halves(pages: Pages) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"A": [], "B": []}
    for i, d in enumerate(pages.dev):
        out[half_of(d.id, d.url)].append(i)
    return out


def near_misses(
    pages: Pages, ours: dict[str, list[str]], bare: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Pages where bare trafilatura has an article (>= 500 characters) and the cleaner's
    body is under NEAR_SHARE of it."""
    out = []
    for dataset in ("aeb", "dev"):
        docs: Sequence[Any] = pages.aeb if dataset == "aeb" else pages.dev
        for i, d in enumerate(docs):
            o, b = ours[dataset][i], bare[dataset][i]
            if len(b) >= scoring.LOST_MIN_CHARS and len(o) < NEAR_SHARE * len(b):
                entry = {
                    "dataset": dataset,
                    "id": d.id,
                    "newswire_chars": len(o),
                    "bare_chars": len(b),
                    "share": round(len(o) / len(b), 3),
                    # The same with whitespace runs counted once: some pages pad the
                    # bare text with blank lines that no reader sees.
                    "share_collapsed": round(
                        rescue.text_chars(o) / max(1, rescue.text_chars(b)), 3
                    ),
                    "lost": scoring.is_lost(o, b),
                }
                if dataset == "dev":
                    entry["half"] = half_of(d.id, d.url)
                out.append(entry)
    return out


def held_out(pages: Pages, runs: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    ours, bare = page_scores(pages, runs["none"]), page_scores(pages, runs["bare"])
    out: dict[str, Any] = {}
    for half, idx in _halves(pages).items():
        o, b = set_f1(ours, "dev", idx), set_f1(bare, "dev", idx)
        t = scoring.snippet_totals(ours["dev"][i] for i in idx)
        out[half] = {
            "pages": len(idx),
            "sites": len({site_of(pages.dev[i].id, pages.dev[i].url) for i in idx}),
            "newswire": {
                "precision": round(t.precision, 4),
                "recall": round(t.recall, 4),
                "f1": round(o, 4),
            },
            "trafilatura_f1": round(b, 4),
            "margin": round(o - b, 4),
        }
    out["aeb"] = {
        "newswire_f1": round(set_f1(ours, "aeb"), 4),
        "trafilatura_f1": round(set_f1(bare, "aeb"), 4),
        "margin": round(set_f1(ours, "aeb") - set_f1(bare, "aeb"), 4),
    }
    return out


def load(root: Path) -> Pages:
    return Pages(
        evalextract.load_dataset(root / evalextract.BENCHMARK),
        evalsnippets.load_dataset(root / evalextract.SNIPPETS),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evalablation", description=__doc__.split("\n")[0])
    parser.add_argument("datasets", type=Path, nargs="?", default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("results/ablation-cleaner.json"))
    parser.add_argument("--only", nargs="*", help="switches to run (default: all)")
    parser.add_argument("--no-ablation", action="store_true", help="halves and near-misses only")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, help="the first N pages of each set (a quick try)")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    pages = load(args.datasets)
    if args.limit:
        pages = Pages(pages.aeb[: args.limit], pages.dev[: args.limit])
    switches = ["none"]
    if not args.no_ablation:
        switches += args.only or list(ablations())
    runs = run_all(pages, switches, args.jobs)
    report: dict[str, Any] = {
        "setup": {
            "aeb_pages": len(pages.aeb),
            "dev_pages": len(pages.dev),
            "fitted_max_pages": FITTED_MAX_PAGES,
            "hurt_f1": HURT_F1,
            "near_share": NEAR_SHARE,
            "rescue_check_share": rescue.CHECK_SHARE,
        },
        "held_out": held_out(pages, runs),
        "near_misses": near_misses(pages, runs["none"], runs["bare"]),
        "ablation": ablation_table(pages, runs, switches),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for row in report["ablation"]:
        flags = " ".join(f for f in ("idle", "fitted", "hurts") if row[f])
        a, d = row["aeb"], row["dev"]
        print(
            f"{row['rule']:<36} aeb +{a['improved']:>2} -{a['hurt']:>2} {a['net_f1']:+.4f}  "
            f"dev +{d['improved']:>2} -{d['hurt']:>2} {d['net_f1']:+.4f} "
            f"(A {d['net_f1_A']:+.4f} B {d['net_f1_B']:+.4f})  {flags}"
        )
    print(json.dumps({"held_out": report["held_out"], "near_misses": len(report["near_misses"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
