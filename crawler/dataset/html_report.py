"""``newswarc report --html``: one page, one card per site, each with a small inline SVG chart.

The page is self-contained (no script, no font, no network): it opens from a file or a mail
attachment. A card shows the verdict first (a red border and the reasons for a drop), then two
panels: articles per day (bars, by publication day, else fetch day, over the site's runs) and,
per run, the share of articles with a date and with an author, and the median length relative to
the longest median of the site (lines; the last run's points are labelled).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from crawler.dataset.quality import SiteVerdict

W, H = 420, 200
PAD_L, PAD_R = 34, 10
TOP_H, GAP = 66, 40  # the bars panel, then the lines panel below it
MAX_DAYS = 60
COLORS = {"share_dated": "#1f6fb2", "share_author": "#2e8b3d", "median_words": "#777777"}
LABELS = {"share_dated": "dated", "share_author": "author", "median_words": "median words (rel.)"}

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
h1{font-size:20px;margin:0 0 4px}p.sub{color:#666;margin:0 0 16px}
.grid{display:flex;flex-wrap:wrap;gap:16px}
.card{background:#fff;border:2px solid #ddd;border-radius:6px;padding:10px 12px;width:440px}
.card.drop{border-color:#c62828}.card h2{font-size:16px;margin:0 0 4px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
ul{margin:4px 0 6px 18px;padding:0;color:#c62828}table{border-collapse:collapse;font-size:12px;margin-top:4px}
td{padding:1px 8px 1px 0}td.n{text-align:right}"""


def pct(v: float | None) -> str:
    """A share as a whole percentage; ``-`` when there was nothing to count (the HTML and the CLI)."""
    return "-" if v is None else f"{100 * v:.0f}%"


def _days(verdict: SiteVerdict) -> list[tuple[str, int]]:
    """Articles per day over the last ``MAX_DAYS`` days that have any, days without articles included."""
    days: Counter[str] = Counter()
    for run in verdict.runs:
        days.update(run.quality.get("articles_by_day") or {})
    try:
        last = date.fromisoformat(max(days))
    except ValueError:  # no days, or a key that is not a date
        return sorted(days.items())[-MAX_DAYS:]
    first = max(date.fromisoformat(min(days)), last - timedelta(days=MAX_DAYS - 1))
    span = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return [(d, days.get(d, 0)) for d in span]


def _chart(verdict: SiteVerdict) -> str:
    plot_w = W - PAD_L - PAD_R
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             f'role="img" aria-label="quality chart of {escape(verdict.site)}" font-size="10" '
             f'font-family="system-ui,sans-serif">']
    # panel 1: articles per day
    days = _days(verdict)
    top = max((n for _, n in days), default=0)
    parts.append(f'<text x="0" y="10" fill="#444">articles per day (max {top})</text>')
    y0 = 14 + TOP_H
    parts.append(f'<line x1="{PAD_L}" y1="{y0}" x2="{W - PAD_R}" y2="{y0}" stroke="#bbb"/>')
    if days and top:
        step = plot_w / len(days)
        for i, (_, n) in enumerate(days):
            h = TOP_H * n / top
            parts.append(f'<rect x="{PAD_L + i * step + 0.5:.1f}" y="{y0 - h:.1f}" width="{max(step - 1, 1):.1f}" '
                         f'height="{h:.1f}" fill="#90a4ae"/>')
        parts.append(f'<text x="{PAD_L}" y="{y0 + 11}" fill="#666">{escape(days[0][0])}</text>')
        parts.append(f'<text x="{W - PAD_R}" y="{y0 + 11}" fill="#666" text-anchor="end">{escape(days[-1][0])}</text>')
    # panel 2: per run, metadata shares and relative median length (0..100 %)
    runs = [r for r in verdict.runs if r.judged]
    y1, y2 = y0 + GAP, H - 14
    parts.append(f'<text x="0" y="{y1 - 9}" fill="#444">per run: share with metadata, median length</text>')
    for frac in (0, 0.5, 1):
        y = y2 - (y2 - y1) * frac
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{PAD_L - 4}" y="{y + 3:.1f}" fill="#888" text-anchor="end">{frac * 100:.0f}%</text>')
    longest = max((r.quality.get("median_words") or 0 for r in runs), default=0) or 1
    xs = [PAD_L + (plot_w * i / (len(runs) - 1) if len(runs) > 1 else plot_w / 2) for i in range(len(runs))]
    for metric, color in COLORS.items():
        points = []
        for x, run in zip(xs, runs, strict=True):
            v = run.quality.get(metric)
            if metric == "median_words":
                v = (v or 0) / longest
            if v is not None:
                points.append((x, y2 - (y2 - y1) * v))
        if not points:
            continue
        dash = ' stroke-dasharray="4 3"' if metric == "median_words" else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>')
    legend_x = PAD_L
    for metric, color in COLORS.items():
        parts.append(f'<rect x="{legend_x}" y="{H - 9}" width="8" height="8" fill="{color}"/>'
                     f'<text x="{legend_x + 11}" y="{H - 2}" fill="#444">{LABELS[metric]}</text>')
        legend_x += 11 + 6 * len(LABELS[metric]) + 14
    parts.append("</svg>")
    return "".join(parts)


def _card(v: SiteVerdict) -> str:
    last = v.runs[-1].quality
    status = ('<span class="bad">quality drop</span>' if v.flagged else '<span class="ok">ok</span>')
    drops = "".join(f"<li>{escape(d)}</li>" for d in v.drops)
    rows = [("runs", str(len(v.runs))), ("articles (last run)", str(last.get("articles", 0))),
            ("dated", pct(last.get("share_dated"))), ("with author", pct(last.get("share_author"))),
            ("with title", pct(last.get("share_title"))), ("with language", pct(last.get("share_language"))),
            ("median words", f"{last.get('median_words') or 0:g}"),
            ("empty / short bodies", f"{last.get('empty_bodies', 0)} / {last.get('short_bodies', 0)}"),
            ("paywalled (truncated)", f"{last.get('paywalled', 0)} ({last.get('truncated_by_paywall', 0)})"),
            ("near-duplicates", str(last.get("near_duplicates", 0)))]
    table = "".join(f'<tr><td>{escape(k)}</td><td class="n">{escape(val)}</td></tr>' for k, val in rows)
    return (f'<section class="card{" drop" if v.flagged else ""}" id="site-{escape(v.site)}">'
            f"<h2>{escape(v.site)} — {status}</h2>{f'<ul>{drops}</ul>' if drops else ''}"
            f"{_chart(v)}<table>{table}</table></section>")


def render_html(verdicts: Sequence[SiteVerdict], where: str) -> str:
    """The whole report page."""
    flagged = [v.site for v in verdicts if v.flagged]
    sub = (f"{len(verdicts)} site(s); quality drop: {', '.join(flagged)}" if flagged
           else f"{len(verdicts)} site(s); no quality drop")
    cards = "\n".join(_card(v) for v in sorted(verdicts, key=lambda v: (not v.flagged, v.site)))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>newswarc quality report</title>'
            f"<style>{_CSS}</style></head><body><h1>newswarc quality report</h1>"
            f'<p class="sub">{escape(where)} — {escape(sub)}</p><div class="grid">\n{cards}\n</div></body></html>\n')
