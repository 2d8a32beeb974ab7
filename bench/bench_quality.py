"""Extraction and article-detection quality: newswarc vs plain trafilatura on two public data sets.

* WCXB dev (the Web Content eXtraction Benchmark, github.com/Murrough-Foley/web-content-extraction-benchmark,
  CC-BY-4.0): real pages from 2025 with page types and ground truth; scored with the functions of
  ``score_pages.py`` (imported, so the metrics are the scorer's own). Sites are split by
  ``md5(domain)`` into a *tune* half (even) and a *report* half (odd): rules were tuned on the
  first only; both halves and the total are shown.
* extraction-dev (the Scrapinghub article-extraction benchmark): body F1 with ``score_extraction.py``.

Both extractors run on the same page one after the other and their CPU time is taken per call,
so the speed ratio holds on a shared machine. The data sets are not part of the repository
(``python -m bench --wcxb DIR --extraction-dev DIR --scorers DIR``); a missing one is skipped with one line. The table is written into ``docs/extraction.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

HALVES = ("tune", "report", "total")
TYPES = ("article", "forum", "product", "collection", "listing", "documentation", "service")
BEGIN = "<!-- quality table: written by python -m bench --only quality -->"
END = "<!-- end of quality table -->"


def half(domain: str) -> str:
    """The site's half: ``tune`` for an even md5 of the domain, else ``report``."""
    return "tune" if int(hashlib.md5(domain.encode()).hexdigest(), 16) % 2 == 0 else "report"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _timed(fn, *args) -> tuple[Any, float]:
    t0 = time.process_time()
    try:
        out = fn(*args)
    except Exception:  # a crash scores 0 on that page, as in the scorer
        out = None
    return out, time.process_time() - t0


def _missing(data: Path | None, marker: str, scorer: Path | None, option: str) -> str | None:
    """Why a part cannot run (no paths in it: the text goes into a committed doc), or None."""
    if data is None or scorer is None:
        return f"no data set given: {option} DIR and --scorers DIR"
    if not (data / marker).is_file():
        return f"no {marker} in the {option} folder"
    if not scorer.is_file():
        return f"no {scorer.name} in the --scorers folder"
    return None


def run_wcxb(data: Path | None, scorer: Path | None, limit: int = 0) -> dict[str, Any]:
    """Metrics per half (articles: body, title, authors, date; all types: detection and body per type)."""
    if why := _missing(data, "pages.json", scorer, "--wcxb"):
        return {"skipped": why}
    assert data is not None and scorer is not None
    sp = _module(scorer, "_score_pages")
    from crawler.discovery.pagekind import classify_page
    from crawler.extract import body_text, extract_article

    index = json.loads((data / "pages.json").read_text(encoding="utf-8"))
    ids = sorted(index)[: limit or None]
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cpu = {"newswarc": 0.0, "trafilatura": 0.0}
    for fid in ids:
        info = index[fid]
        gt = json.loads((data / "ground-truth" / f"{fid}.json").read_text(encoding="utf-8"))["ground_truth"]
        html = gzip.decompress((data / "html" / f"{fid}.html.gz").read_bytes()).decode("utf-8", "replace")
        url, kind, where = info.get("url") or "", info["page_type"], half(info.get("domain") or "")
        truth = gt.get("main_content") or ""
        said = sp.is_article(classify_page(html, url))
        for h in (where, "total"):
            acc[h]["said"].append(float(said))
            acc[h]["truth"].append(float(kind == "article"))
            acc[h][f"called:{kind}"].append(float(said))
        if kind != "article":
            ours = body_text(html, url)
            theirs = sp.trafilatura_baseline(html, url)
            for h in (where, "total"):
                acc[h][f"newswarc:f1:{kind}"].append(sp.word_prf(ours, truth)[2])
                acc[h][f"trafilatura:f1:{kind}"].append(sp.word_prf((theirs or {}).get("text") or "", truth)[2])
            continue
        for name, fn in (("newswarc", extract_article), ("trafilatura", sp.trafilatura_baseline)):
            res, seconds = _timed(fn, html, url)
            cpu[name] += seconds
            text = (sp.field(res, "text", "body") or "") if res is not None else ""
            scores = {"f1:article": sp.word_prf(text, truth)[2]}
            if gt.get("title"):
                scores["title"] = float(res is not None and sp.norm(sp.field(res, "title")) == sp.norm(gt["title"]))
            if gt.get("author"):
                scores["author"] = float(res is not None and sp.authors_right(sp.field(res, "authors", "author"),
                                                                               gt["author"]))
            if sp.day(gt.get("publish_date")):
                scores["date"] = float(res is not None and sp.day(sp.field(res, "published", "date"))
                                       == sp.day(gt["publish_date"]))
            for h in (where, "total"):
                for key, value in scores.items():
                    acc[h][f"{name}:{key}"].append(value)
    out: dict[str, Any] = {"pages": len(ids), "halves": {}}
    for h in HALVES:
        a = acc[h]
        tp = sum(s and t for s, t in zip(a["said"], a["truth"], strict=True))
        p = tp / sum(a["said"]) if sum(a["said"]) else 0.0
        r = tp / sum(a["truth"]) if sum(a["truth"]) else 0.0
        row: dict[str, Any] = {"pages": len(a["said"]), "articles": int(sum(a["truth"])),
                               "detection": {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0},
                               "called_article": {t: _mean(a[f"called:{t}"]) for t in TYPES if a[f"called:{t}"]}}
        for name in ("newswarc", "trafilatura"):
            row[name] = {k.split(":", 1)[1]: _mean(v) for k, v in a.items() if k.startswith(name + ":")}
            row[name]["n"] = {k.split(":", 1)[1]: len(v) for k, v in a.items() if k.startswith(name + ":")}
        out["halves"][h] = row
    n_articles = out["halves"]["total"]["articles"]
    out["pages_per_s"] = {k: n_articles / v if v else None for k, v in cpu.items()}
    out["speed_ratio"] = cpu["trafilatura"] / cpu["newswarc"] if cpu["newswarc"] else None
    return out


def run_extraction_dev(data: Path | None, scorer: Path | None) -> dict[str, Any]:
    """Body F1 (4-token shingles, the benchmark's rule) for newswarc and plain trafilatura, per half."""
    if why := _missing(data, "ground-truth.json", scorer, "--extraction-dev"):
        return {"skipped": why}
    assert data is not None and scorer is not None
    se = _module(scorer, "_score_extraction")
    import trafilatura

    from crawler.extract import body_text

    counts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    cpu = {"newswarc": 0.0, "trafilatura": 0.0}
    for item_id, url, truth in se.load_benchmark(data):
        html = se.read_html(data, item_id)
        where = half(url.split("/")[2] if url.count("/") >= 2 else url)
        for name, fn in (("newswarc", body_text),
                         ("trafilatura", lambda h, u: trafilatura.extract(h, url=u, include_comments=False))):
            pred, seconds = _timed(fn, html, url)
            cpu[name] += seconds
            for h in (where, "total"):
                counts[h][name].append(se.doc_counts(truth, pred))
    return {"halves": {h: {name: se.aggregate(c) | {"docs": len(c)} for name, c in counts[h].items()}
                       for h in HALVES if h in counts},
            "speed_ratio": cpu["trafilatura"] / cpu["newswarc"] if cpu["newswarc"] else None}


def _warm_up() -> None:
    """One-off costs (language model, lazy imports) paid before anything is timed, for both extractors."""
    import trafilatura

    from crawler.extract.api import _WARM_PAGE, warm_up

    warm_up()
    trafilatura.bare_extraction(_WARM_PAGE, url="https://warm-up.invalid/", with_metadata=True)
    trafilatura.extract(_WARM_PAGE, url="https://warm-up.invalid/", include_comments=False)


def run(wcxb: Path | None, extraction_dev: Path | None, scorers: Path | None, limit: int = 0) -> dict[str, Any]:
    """Both data sets' parts; a part whose data set or scorer is not given is skipped."""
    _warm_up()
    return {"wcxb": run_wcxb(wcxb, scorers / "score_pages.py" if scorers else None, limit),
            "extraction_dev": run_extraction_dev(extraction_dev,
                                                 scorers / "score_extraction.py" if scorers else None)}


def _f(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "-"


def markdown(section: dict[str, Any]) -> list[str]:
    """The metric table (newswarc | trafilatura for each half), per-type rows, extraction-dev."""
    lines: list[str] = []
    w = section.get("wcxb", {})
    if "skipped" in w:
        lines.append(f"WCXB dev: skipped ({w['skipped']}).")
    else:
        hs = w["halves"]
        head = "| metric (WCXB dev) | " + " | ".join(f"{h} newswarc | {h} trafilatura" for h in HALVES) + " |"
        lines += [head, "|" + "---|" * (1 + 2 * len(HALVES))]

        def row(label: str, key: str, target: str = "") -> None:
            cells = [f"{_f(hs[h]['newswarc'].get(key))} | {_f(hs[h]['trafilatura'].get(key))}" for h in HALVES]
            lines.append(f"| {label}{target} | " + " | ".join(cells) + " |")

        row("body word-F1, articles", "f1:article", " (≥ 0.95)")
        row("title equals the headline", "title", " (≥ 0.90)")
        row("authors right", "author", " (≥ 0.85)")
        row("publication day right", "date", " (≥ 0.93)")
        det = " | ".join(f"P {_f(hs[h]['detection']['precision'])} R {_f(hs[h]['detection']['recall'])} "
                         f"F1 {_f(hs[h]['detection']['f1'])} | —" for h in HALVES)
        lines.append(f"| article detection (P ≥ 0.93, F1 ≥ 0.93) | {det} |")
        for t in TYPES[1:]:
            cells = [f"{_f(hs[h]['newswarc'].get('f1:' + t))} | {_f(hs[h]['trafilatura'].get('f1:' + t))}"
                     for h in HALVES]
            lines.append(f"| body word-F1, {t} pages | " + " | ".join(cells) + " |")
        for t in TYPES:
            cells = [f"{_f(hs[h]['called_article'].get(t))} | —" for h in HALVES]
            lines.append(f"| share called 'article', {t} | " + " | ".join(cells) + " |")
        counts = ", ".join(f"{h}: {hs[h]['pages']} pages, {hs[h]['articles']} articles" for h in HALVES)
        pps = w["pages_per_s"]
        lines += ["", f"{counts}. Extractor CPU speed on the articles, same run, page by page: newswarc "
                      f"{_f(pps['newswarc'])} pages/s, trafilatura {_f(pps['trafilatura'])} pages/s "
                      f"(**{_f(w['speed_ratio'])}x** trafilatura's)."]
    e = section.get("extraction_dev", {})
    lines.append("")
    if "skipped" in e:
        lines.append(f"extraction-dev: skipped ({e['skipped']}).")
    else:
        lines += ["| extraction-dev body F1 (≥ 0.975) | " + " | ".join(f"{h} newswarc | {h} trafilatura"
                                                                     for h in HALVES if h in e["halves"]) + " |",
                  "|" + "---|" * (1 + 2 * len(e["halves"]))]
        cells = [f"{_f(e['halves'][h]['newswarc']['f1'])} | {_f(e['halves'][h]['trafilatura']['f1'])}"
                 for h in HALVES if h in e["halves"]]
        lines.append("| F1 (P, R averaged per document) | " + " | ".join(cells) + " |")
        lines += ["", f"Speed on extraction-dev, same run: newswarc **{_f(e['speed_ratio'])}x** trafilatura's pages/s "
                      "(plain `trafilatura.extract(include_comments=False)`, the benchmark's setting)."]
    return lines


def write_doc(doc: Path, section: dict[str, Any]) -> None:
    """Replace the table between the markers in ``doc`` (appended at the end the first time)."""
    table = "\n".join([BEGIN, "", *markdown(section), "", f"_measured {section.get('measured_at', '?')}_", "", END])
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + table + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    doc.write_text(text, encoding="utf-8")
