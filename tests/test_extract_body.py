"""The body step's choice of trafilatura mode (small trees written here; trafilatura stubbed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml.html import fromstring

from crawler.extract import body
from crawler.extract.body import block_text_len, extract_body
from crawler.extract.guard import PageProse

ARTICLE = "".join(f"<p>{f'Paragraph number {i} of the article, long enough to count. ' * 4}</p>" for i in range(10))


def test_block_text_len_counts_outermost_blocks_once() -> None:
    tree = fromstring("<html><body><div>Menu Home</div><p>Hello <b>world</b></p>"
                      "<ul><li>a <p>b</p></li></ul><h2>Sub  head</h2></body></html>")
    assert block_text_len(tree) == len("Hello world") + len("a b") + len("Sub head")


def test_block_text_len_leaves_out_links() -> None:
    """A menu or a teaser list written as list items is not text the extractor should have kept."""
    tree = fromstring("<html><body><ul><li><a href='/a'>Other story one</a></li>"
                      "<li><a href='/b'>Other story two</a></li></ul>"
                      "<p>Read <a href='/c'>this</a> now</p></body></html>")
    assert block_text_len(tree) == len("Read this now") - len("this")


def _stub(monkeypatch: pytest.MonkeyPatch, lengths: dict[str, int]) -> list[str]:
    calls: list[str] = []

    def run(tree, url, favor, bound):
        calls.append(favor)
        return SimpleNamespace(text="x" * lengths[favor])

    monkeypatch.setattr(body, "_run", run)
    return calls


def _tree():
    tree = fromstring(f"<html><body><article>{ARTICLE}</article></body></html>")
    return tree, PageProse(tree.find("body"))


def test_recall_replaces_a_short_result(monkeypatch: pytest.MonkeyPatch) -> None:
    tree, prose = _tree()
    total = block_text_len(tree)
    calls = _stub(monkeypatch, {"precision": total // 2, "balanced": total // 3, "recall": total})
    doc = extract_body(tree, "https://example.org/a", "auto", prose)
    assert calls == ["precision", "recall"]
    assert len(doc.text) == total


def test_recall_not_taken_unless_clearly_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    tree, prose = _tree()
    total = block_text_len(tree)
    calls = _stub(monkeypatch, {"precision": total // 2, "balanced": 0, "recall": total // 2 + 5})
    doc = extract_body(tree, "https://example.org/a", "auto", prose)
    assert calls == ["precision", "recall"]
    assert len(doc.text) == total // 2


def test_recall_not_run_when_the_blocks_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    tree, prose = _tree()
    calls = _stub(monkeypatch, {"precision": block_text_len(tree) - 20, "balanced": 0, "recall": 10**6})
    extract_body(tree, "https://example.org/a", "auto", prose)
    assert calls == ["precision"]


@pytest.mark.parametrize("favor", ["precision", "balanced", "recall"])
def test_a_chosen_mode_runs_alone(monkeypatch: pytest.MonkeyPatch, favor: str) -> None:
    tree, prose = _tree()
    calls = _stub(monkeypatch, {"precision": 1, "balanced": 1, "recall": 1})
    extract_body(tree, "https://example.org/a", favor, prose)
    assert calls == [favor]
