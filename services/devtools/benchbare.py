"""The bare parts of the pipeline, in one process, no Kafka: what the stages' own libraries
cost on the same feeds and pages, called the way a user of each would call it.

    python -m services.devtools.benchbare SPEC.json --out BARE.json

SPEC.json: {"feeds": [url, ...], "pages": [url, ...], "ner_model": name,
"keywords_top": n, "keywords_max_words": n, "embedding_max_chars": n,
"embedding_max_tokens": n}. Per stage, CPU seconds of this process (`process_time`):

* fetcher: aiohttp GET of every feed and `feedparser.parse` of each body, then a GET of
  every page (eight at a time): feed parsing is shared out over the entries it lists;
* cleaner: `trafilatura.extract(html)` with its defaults;
* enricher: `py3langid` on the text; for English, spaCy's NER pipeline (the NER
  component alone, as spaCy's docs suggest for entities); YAKE keywords; the MiniLM
  ONNX embedding of the title and lead (onnxruntime and tokenizers, one thread, as the
  enricher runs it). The enricher's own code (places, quotes, summary, statistics) has no
  library to compare with and is not here;
* dedup: a plain MinHash (5-word shingles, 128 hash functions, 16 bands of 8) with an
  LSH lookup and insert into dicts.

Native libraries get one thread (OPENBLAS_NUM_THREADS=1 from the caller), as in the
services. The result is one JSON file; its "cpu_s" is per stage and per part.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

PERMUTATIONS = 128
BANDS = 16
SHINGLE = 5
MERSENNE = (1 << 61) - 1


class PlainMinHash:
    """MinHash/LSH as a textbook writes it; only what a near-duplicate check needs."""

    def __init__(self, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, MERSENNE, PERMUTATIONS, dtype=np.uint64)
        self.b = rng.integers(0, MERSENNE, PERMUTATIONS, dtype=np.uint64)
        self.bands: dict[tuple[int, bytes], list[int]] = defaultdict(list)

    def signature(self, text: str) -> np.ndarray[Any, np.dtype[np.uint64]]:
        words = text.lower().split()
        grams = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
        hashes = np.array(
            [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest()) for g in grams],
            dtype=np.uint64,
        )
        # (a*x + b) mod p in uint64 wraps; the wrap is a fixed permutation all the same.
        mixed = (hashes[:, None] * self.a[None, :] + self.b[None, :]) % np.uint64(MERSENNE)
        return np.asarray(mixed.min(axis=0), dtype=np.uint64)

    def add(self, doc: int, text: str) -> set[int]:
        sig = self.signature(text)
        rows = PERMUTATIONS // BANDS
        found: set[int] = set()
        for band in range(BANDS):
            key = (band, sig[band * rows : (band + 1) * rows].tobytes())
            found.update(self.bands[key])
            self.bands[key].append(doc)
        return found


class Parts:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)

    def timed(self, name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        t = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            self.cpu[name] += time.process_time() - t


async def fetch_all(
    feeds: list[str], pages: list[str], parts: Parts
) -> tuple[list[bytes | None], int]:
    """Page bodies (None where the GET failed) and the entries the feeds listed."""
    import aiohttp
    import feedparser

    entries = 0
    cpu0 = time.process_time()
    async with aiohttp.ClientSession() as session:
        for url in feeds:
            async with session.get(url) as resp:
                body = await resp.read()
            parsed = parts.timed("feedparser", feedparser.parse, body)
            entries += len(parsed.entries)
        limit = asyncio.Semaphore(8)

        # Bytes, as served: trafilatura finds the page's encoding itself (some of these
        # pages are not UTF-8 and say so only in their markup).
        async def get(url: str) -> bytes | None:
            async with limit, session.get(url) as resp:
                return await resp.read() if resp.status == 200 else None

        bodies = await asyncio.gather(*(get(u) for u in pages))
    parts.cpu["http"] += time.process_time() - cpu0 - parts.cpu["feedparser"]
    return list(bodies), entries


def run(spec: dict[str, Any]) -> dict[str, Any]:
    import py3langid
    import spacy
    import trafilatura
    import yake
    from tokenizers import Tokenizer

    from services.enricher.embedding import DEFAULT_MODEL, model_files

    load0 = time.perf_counter()
    nlp = spacy.load(
        spec["ner_model"],
        exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"],
    )
    import onnxruntime as ort  # type: ignore[import-untyped]

    onnx_path, tok_path = model_files(DEFAULT_MODEL, None)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    input_names = {i.name for i in session.get_inputs()}
    tokenizer = Tokenizer.from_file(str(tok_path))
    tokenizer.enable_truncation(int(spec["embedding_max_tokens"]))
    extractors: dict[str, Any] = {}
    py3langid.classify("warm up the language model")
    load_s = time.perf_counter() - load0

    parts = Parts()
    bodies, entries = asyncio.run(fetch_all(spec["feeds"], spec["pages"], parts))
    minhash = PlainMinHash()
    done = extracted = 0
    near = 0
    wall0 = time.perf_counter()
    for i, html in enumerate(bodies):
        if html is None:
            continue
        done += 1
        text = parts.timed("trafilatura", trafilatura.extract, html)
        if not text:
            continue
        extracted += 1
        lang = str(parts.timed("py3langid", py3langid.classify, text)[0])
        if lang == "en":
            parts.timed("spacy_ner", lambda t: [(e.text, e.label_) for e in nlp(t).ents], text)
        if lang not in extractors:
            extractors[lang] = yake.KeywordExtractor(
                lan=lang, n=int(spec["keywords_max_words"]), top=int(spec["keywords_top"])
            )
        parts.timed("yake", extractors[lang].extract_keywords, text)
        lead = text[: int(spec["embedding_max_chars"])]
        parts.timed("minilm", _embed, session, input_names, tokenizer, lead)
        near += bool(parts.timed("minhash", minhash.add, i, text))
    stages = {
        "fetcher": parts.cpu["http"] + parts.cpu["feedparser"],
        "cleaner": parts.cpu["trafilatura"],
        "enricher": sum(parts.cpu[p] for p in ("py3langid", "spacy_ner", "yake", "minilm")),
        "dedup": parts.cpu["minhash"],
    }
    return {
        "feeds": len(spec["feeds"]),
        "feed_entries": entries,
        "pages": len(spec["pages"]),
        "fetched": done,
        "extracted": extracted,
        "near_duplicates_found": near,
        "cpu_s": {k: round(v, 4) for k, v in stages.items()},
        "part_cpu_s": {k: round(v, 4) for k, v in parts.cpu.items()},
        "loop_wall_s": round(time.perf_counter() - wall0, 3),
        "load_s": round(load_s, 2),
    }


def _embed(session: Any, inputs: set[str], tokenizer: Any, text: str) -> Any:
    enc = tokenizer.encode(text)
    ids = np.array([enc.ids], dtype=np.int64)
    mask = np.array([enc.attention_mask], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inputs:
        feeds["token_type_ids"] = np.zeros_like(ids)
    out = np.asarray(session.run(None, feeds)[0], dtype=np.float32)
    vec = (out * mask[..., None]).sum(axis=1) / mask.sum() if out.ndim == 3 else out
    return vec / np.linalg.norm(vec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(json.loads(args.spec.read_text()))
    result["pid"] = os.getpid()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
