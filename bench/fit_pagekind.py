"""Refit the page model's weights (``crawler.discovery.pagekind_model.WEIGHTS``) on labelled pages.

``python -m bench.fit_pagekind --wcxb DIR``: features of every WCXB dev page, an L2-regularised
logistic regression (Newton steps, plain numpy) on the tune half of the sites
(:func:`bench.bench_quality.half`), fitted on the pages the model decides (not those a declared
JSON-LD article type, a utility URL or a teaser list decides first), then precision/recall/F1 of the whole
classifier on the tune half, the report half and all pages for a few thresholds. Paste the
printed weights into ``pagekind_model.py``; choose the threshold on the tune half only.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

from bench.bench_quality import half
from crawler.discovery import pagekind
from crawler.discovery.links import parse_html
from crawler.discovery.pagekind_model import FEATURES, features, main_articles


def page_rows(data: Path) -> list[dict]:
    """One row per page: label, half, feature values, and whether the declared type decides it."""
    rows = []
    for fid, info in sorted(json.loads((data / "pages.json").read_text()).items()):
        html = gzip.decompress((data / "html" / f"{fid}.html.gz").read_bytes()).decode("utf-8", "replace")
        root = parse_html(html)
        if root is None:
            continue
        objects = list(pagekind._jsonld_objects(root))
        types = [t for obj in objects for t in pagekind.jsonld_types(obj)]
        mains = main_articles(root)
        # decided before the model: not an article (a utility URL, a teaser list), an article (a declared type)
        before = pagekind._is_utility_url(info["url"]) or (
            pagekind._is_listing_url(info["url"]) and len(mains) >= pagekind.MIN_TEASERS)
        rows.append({"tune": half(info["domain"]) == "tune", "y": info["page_type"] == "article",
                     "declared": bool(pagekind.declared_article_type(types, info["url"])) and not before,
                     "teasers": before,
                     "x": list(map(features(root, info["url"], objects, mains=mains).get, FEATURES))})
    return rows


def fit(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Weights in the features' own units; the L2 penalty acts on standardised features, not the bias."""
    mu, sd = x.mean(0), x.std(0)
    sd[sd == 0], mu[0], sd[0] = 1.0, 0.0, 1.0
    z, w = (x - mu) / sd, np.zeros(x.shape[1])
    penalty = lam * np.diag([0.0] + [1.0] * (x.shape[1] - 1))
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        step = np.linalg.solve(z.T @ (z * (p * (1 - p))[:, None]) + penalty, z.T @ (p - y) + penalty @ w)
        w -= step
    raw = w / sd
    raw[0] = w[0] - (w[1:] * mu[1:] / sd[1:]).sum()
    return raw


def prf(pred: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wcxb", type=Path, required=True, help="WCXB dev pages (pages.json, html/)")
    ap.add_argument("--lam", type=float, default=10.0, help="L2 strength on standardised features")
    args = ap.parse_args()
    rows = page_rows(args.wcxb)
    x = np.array([r["x"] for r in rows])
    y = np.array([r["y"] for r in rows])
    tune = np.array([r["tune"] for r in rows])
    declared = np.array([r["declared"] for r in rows])
    teasers = np.array([r["teasers"] for r in rows])
    model = tune & ~declared & ~teasers  # the tune pages the model decides
    w = fit(x[model], y[model].astype(float), args.lam)
    print("WEIGHTS =", {n: round(float(v), 3) for n, v in zip(FEATURES, w, strict=True)})
    score = x @ w
    for threshold in (0.0, 0.2, 0.4):
        pred = (declared | (score > threshold)) & ~teasers
        cells = [f"{name} P {p:.3f} R {r:.3f} F1 {f:.3f}" for name, mask in
                 (("tune", tune), ("report", ~tune), ("all", np.ones_like(tune)))
                 for p, r, f in [prf(pred[mask], y[mask])]]
        print(f"THRESHOLD {threshold}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
