"""The body step's choice of trafilatura mode (small trees written here; trafilatura stubbed but in the heading test)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml.html import fromstring

from crawler.config.extract import ExtractOptions
from crawler.extract import body, extract_article
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


def _sentences(n: int) -> str:
    """About ``n`` characters of running text, one distinct sentence per line (the same first lines for
    every ``n``: a longer text adds lines to a shorter one, as recall mode adds to precision's)."""
    lines, size, i = [], 0, 0
    while size < n:
        line = f"Sentence {i} of the article says what happened and why it matters to the town."
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


def _stub(monkeypatch: pytest.MonkeyPatch, lengths: dict[str, int], extra: str = "") -> list[str]:
    calls: list[str] = []

    def run(tree, url, favor, bound):
        calls.append(favor)
        text = _sentences(lengths[favor])
        return SimpleNamespace(text=text + extra if favor == "recall" and extra else text)

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
    assert doc.text == _sentences(total)


def test_recall_not_taken_unless_clearly_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    tree, prose = _tree()
    total = block_text_len(tree)
    calls = _stub(monkeypatch, {"precision": total // 2, "balanced": 0, "recall": total // 2}, extra="\n- one more")
    doc = extract_body(tree, "https://example.org/a", "auto", prose)
    assert calls == ["precision", "recall"]
    assert doc.text == _sentences(total // 2)


def test_recall_not_run_when_the_blocks_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    tree, prose = _tree()
    calls = _stub(monkeypatch, {"precision": block_text_len(tree) - 20, "balanced": 0, "recall": 10**6})
    extract_body(tree, "https://example.org/a", "auto", prose)
    assert calls == ["precision"]


def test_recall_adding_list_items_replaces_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Precision drops a list of steps; recall keeps it: its text wins."""
    tree, prose = _tree()
    total = block_text_len(tree)
    steps = "".join(f"\n- Step {i}: unscrew panel {i}" for i in range(20))
    _stub(monkeypatch, {"precision": total * 4 // 5, "balanced": 0, "recall": total * 4 // 5}, extra=steps)
    doc = extract_body(tree, "https://example.org/a", "auto", prose)
    assert "- Step 19: unscrew panel 19" in doc.text


def test_recall_adding_teaser_headlines_and_captions_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """What recall adds on a news page: related headlines, a caption a gallery repeats, labels."""
    tree, prose = _tree()
    total = block_text_len(tree)
    caption = "\nThe mayor and the harbour master sign the plan in the town hall on Tuesday, as the council looks on."
    teasers = "".join(f"\nCouncil story number {i} you may have missed" for i in range(20)) + caption * 3 + "\nClose"
    _stub(monkeypatch, {"precision": total * 4 // 5, "balanced": 0, "recall": total * 4 // 5}, extra=teasers)
    doc = extract_body(tree, "https://example.org/a", "auto", prose)
    assert "you may have missed" not in doc.text and "harbour master" not in doc.text


def test_a_headings_link_to_itself_does_not_make_it_link_text() -> None:
    """Precision mode deletes headings that are all link text; a table of contents' anchor is not a link away."""
    text = "The text of this section says what the guide is about and why. " * 5
    sections = "".join(f"<h3 id='s{i}'><a href='#s{i}'>Section heading {i}</a></h3><p>{text}</p>" for i in range(6))
    page = f"<html><head><title>A guide</title></head><body><article><h1>A guide</h1><div>{sections}</div></article></body></html>"
    kept = extract_article(page, "https://example.org/guide", options=ExtractOptions(favor="precision")).text
    assert all(f"Section heading {i}" in kept for i in range(6))
    assert kept.count("says what the guide is about") == 30


@pytest.mark.parametrize("favor", ["precision", "balanced", "recall"])
def test_a_chosen_mode_runs_alone(monkeypatch: pytest.MonkeyPatch, favor: str) -> None:
    tree, prose = _tree()
    calls = _stub(monkeypatch, {"precision": 1, "balanced": 1, "recall": 1})
    extract_body(tree, "https://example.org/a", favor, prose)
    assert calls == [favor]
