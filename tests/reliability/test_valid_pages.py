"""Valid pages that used to be lost: UTF-16/UTF-32 with a BOM, a NUL byte, deep or huge JSON-LD."""

from __future__ import annotations

import json

from tests.crawl_helpers import read_jsonl, run_reports, write_seed
from tests.reliability.hostile import FAST, HostileServer, Reply, article_html, no_traceback, run_newswarc


def _with_jsonld(html: bytes, script: str) -> bytes:
    return html.replace(b"</head>", f'<script type="application/ld+json">{script}</script></head>'.encode())


def pages(base: str) -> dict[str, tuple[str, bytes]]:
    """path -> (Content-Type, body)."""
    def page(i: int, charset: str = "utf-8") -> str:
        return article_html(i, f"{base}/2026/10/01/story-{i}/").decode().replace(
            '<meta charset="utf-8">', f'<meta charset="{charset}">')

    headline = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Story 5",
                           "datePublished": "2026-10-01T10:00:00Z"})
    huge = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Story 6",
                       "datePublished": "2026-10-01T10:00:00Z", "padding": ["x" * 1000] * 15_000})
    nul = page(3).encode().replace(b"<article>", b"<article>\x00", 1)
    return {
        "/2026/10/01/story-0/": ("text/html; charset=utf-16", b"\xff\xfe" + page(0, "utf-16").encode("utf-16-le")),
        "/2026/10/01/story-1/": ("text/html; charset=utf-16", b"\xfe\xff" + page(1, "utf-16").encode("utf-16-be")),
        "/2026/10/01/story-2/": ("text/html; charset=utf-32", page(2, "utf-32").encode("utf-32")),  # BOM + LE
        "/2026/10/01/story-3/": ("text/html; charset=utf-8", nul),
        "/2026/10/01/story-4/": ("text/html; charset=utf-8", _with_jsonld(page(4).encode(), "[" * 100_000 + "]" * 100_000)),
        "/2026/10/01/story-5/": ("text/html; charset=utf-8", _with_jsonld(page(5).encode(), '{"a":' * 50_000 + "1" + "}" * 50_000 + headline)),
        "/2026/10/01/story-6/": ("text/html; charset=utf-8", _with_jsonld(page(6).encode(), huge)),
    }


def test_valid_pages_are_kept(tmp_path):
    with HostileServer() as srv:
        served = pages(srv.url)
        for path, (ctype, body) in served.items():
            srv.routes[path] = Reply(headers=[("Content-Type", ctype)], body=body)
        srv.routes["/"] = Reply(body=("<html><body>" + "".join(
            f'<a href="{p}">story {i}</a>' for i, p in enumerate(served)) + "</body></html>").encode())
        srv.routes["/robots.txt"] = Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n")
        seed = write_seed(tmp_path, srv.url)
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr) and "RecursionError" not in run.stderr
    rows = {r["url"].removeprefix(srv.url): r for r in read_jsonl(out, open_parts=True)}
    assert sorted(rows) == sorted(served), run.stderr[-3000:]
    for path, row in rows.items():
        n = path.rstrip("/").rsplit("-", 1)[1]
        assert f"Paragraph 7 of story {n}" in (tmp_path / "out" / row["text_path"]).read_text(), path
    assert run_reports(out)[-1]["counts"]["errors"] == 0
