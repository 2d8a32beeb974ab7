"""Paywall detection on hand-made pages, the near-duplicate index on a real crawl state file, and
the comparison of runs behind ``newswarc report``."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from crawler.dataset.neardup import NearDuplicateIndex, lsh_params, signature
from crawler.dataset.quality import compare_runs
from crawler.extract import extract_article
from crawler.state import SCHEMA_VERSION, CrawlState

WORDS = [f"{a}{b}" for a in ("ba", "ko", "ri", "tu", "mel", "sar", "dov", "pin") for b in
         ("ne", "lo", "ska", "ter", "vi", "dum", "ras", "gol", "fen", "rit")]


def _para(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + ("." if i % 12 == 11 else "") for i in range(n))


def _page(ld: dict | None = None, body: str = "", head: str = "") -> str:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld else ""
    paras = "".join(f"<p>{_para(40, k)}</p>" for k in range(3))
    return (f"<html lang='en'><head><title>Story</title>{script}{head}</head><body><article><h1>Story</h1>"
            f"{paras}{body}</article></body></html>")


LD = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Story",
      "datePublished": "2026-10-01T10:00:00Z"}
LOCKED = {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": ".locked"}
PROMPT = '<div class="paywall">Subscribe to continue reading.</div>'
FULL = "<div class='locked'>" + "".join(f"<p>{_para(40, k + 10)}</p>" for k in range(3)) + "</div>"


@pytest.mark.parametrize(("ld", "body", "head", "free", "truncated"), [
    (LD, "", "", None, False),  # no sign either way
    ({**LD, "isAccessibleForFree": True}, "", "", True, False),
    ({**LD, "isAccessibleForFree": "False", "hasPart": LOCKED}, "<div class='locked'></div>", "", False, True),
    ({**LD, "isAccessibleForFree": "https://schema.org/False", "hasPart": [LOCKED]}, FULL, "", False, False),
    ({**LD, "isAccessibleForFree": False}, "", "", False, False),  # not free, and no sign of a cut
    ({**LD, "isAccessibleForFree": False}, PROMPT, "", False, True),
    (LD, PROMPT, "", False, True),  # a paywall prompt without structured data
    (LD, '<div id="paywall-root"></div>', "", None, False),  # an empty container says nothing
    (LD, "", '<meta property="article:content_tier" content="locked">', False, False),
    (LD, "", '<meta property="article:content_tier" content="free">', True, False),
    ({**LD, "isAccessibleForFree": "no", "hasPart": {**LOCKED, "cssSelector": "!!!["}}, PROMPT, "", False, True),
])
def test_paywall_flags(ld, body, head, free, truncated):
    article = extract_article(_page(ld, body, head), "https://news.example/2026/10/01/story/")
    assert article is not None
    assert (article.is_accessible_for_free, article.truncated_by_paywall) == (free, truncated)


def test_near_duplicate_index_groups_edits_not_strangers(tmp_path):
    base = "\n".join(_para(60, k) for k in range(6))
    edited = base.replace(base.split(".")[3], " the mayor said nothing new about it") + "\nAgency credit line."
    stranger = "\n".join(_para(60, k + 40) for k in range(6))
    with CrawlState(tmp_path / "s.sqlite") as state:
        index = NearDuplicateIndex(state, 0.7)
        for ident, text in (("a", base), ("b", edited), ("c", stranger)):
            sig = signature(text)
            group = index.find(ident, sig)
            index.add(ident, sig, group)
        roots = dict(state.query("SELECT article_id, root_id FROM minhash"))
        assert roots == {"a": "a", "b": "a", "c": "c"}
        assert index.find("b", signature("entirely different")).of == "a"  # a new version keeps its group
        assert index.find("a", signature(base)) is None  # the first copy has no group of its own
    with CrawlState(tmp_path / "s.sqlite") as state:  # another run, another threshold: bands re-cut
        index = NearDuplicateIndex(state, 0.9)
        assert (index.bands, index.rows) == lsh_params(0.9)
        third = edited + "\nOne more line."
        group = index.find("d", signature(third))
        assert group is not None and group.of == "a" and group.similarity >= 0.9


def test_state_schema_1_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    with CrawlState(path):
        pass
    with sqlite3.connect(path) as conn:  # make it look like a state written before signatures existed
        conn.execute("DROP TABLE minhash")
        conn.execute("DROP TABLE minhash_bands")
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    with CrawlState(path) as state:
        NearDuplicateIndex(state)
        assert state.query("SELECT value FROM meta WHERE key='schema_version'") == [(str(SCHEMA_VERSION),)]
        assert state.query("SELECT count(*) FROM minhash") == [(0,)]


def _report(run: str, site: str, **quality) -> dict:
    base = {"articles": 100, "share_dated": 0.9, "median_words": 400, "empty_bodies": 0, "short_bodies": 0}
    return {"run_id": run, "started": f"2026-11-{run}T00:00:00Z", "quality": {"sites": {site: {**base, **quality}}}}


def test_compare_runs_baseline_and_drops():
    reports = [_report("01", "a"), _report("02", "a", median_words=100), _report("03", "a"),
               _report("04", "a", articles=0, empty_bodies=0, short_bodies=0),  # nothing seen: not judged
               _report("05", "a", share_dated=0.45),
               _report("01", "b"), _report("02", "b", articles=0, median_words=None, short_bodies=40),
               _report("01", "c")]
    verdicts = {v.site: v for v in compare_runs(reports)}
    # a: baseline is the median of runs 01-03 (400 words, 0.9 dated); run 05 halves the dated share
    assert verdicts["a"].baseline == {"share_dated": 0.9, "median_words": 400}
    assert verdicts["a"].drops == ["share of dated articles fell from 0.9 to 0.45 in run 05"]
    assert verdicts["b"].drops == ["no article extracted in run 02 (40 empty or short bodies)"]
    assert not verdicts["c"].flagged and len(verdicts["c"].runs) == 1
