"""README and docs/ stay inside the repository, their links resolve, and they describe the tool as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.crawl_helpers import ROOT, newswarc, read_jsonl

USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHIPPED = [*USER_DOCS, *sorted((ROOT / "bench").glob("*.py"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'."""
    out = set()
    for heading in re.findall(r"^#+\s+(.+)$", path.read_text(encoding="utf-8"), re.M):
        out.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        assert resolved.exists(), f"{doc.name}: link to {target} does not exist"
        assert resolved.is_relative_to(ROOT), f"{doc.name}: link to {target} leaves the repository"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{doc.name}: {target}: no such heading"


@pytest.mark.parametrize("doc", SHIPPED, ids=lambda p: p.name)
def test_no_path_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    for pattern in (r"\.\./shared", r"/work/", r"\.\./\.\./"):
        hits = [line for line in text.splitlines() if re.search(pattern, line)]
        assert not hits, f"{doc.relative_to(ROOT)} points outside the repository: {hits[0].strip()}"


HISTORY = re.compile(r"\b(mid-way version|no longer (?!than)|used to|previously|formerly|(was|were) (fixed|changed|"
                     r"replaced|dropped|removed)|now (uses|writes|reads|runs|is))\b"
                     r"|\(was\b|\bwas:|\bthe issue\b|\bissue (item )?\d+", re.I)


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_describe_the_tool_not_its_history(doc):
    hits = [line.strip() for line in doc.read_text(encoding="utf-8").splitlines() if HISTORY.search(line)]
    assert not hits, f"{doc.name}: {hits[0]}"


def test_readme_example_files_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in re.findall(r"`((?:seeds|settings|docs|bench|crawler)/[\w./-]+\.(?:toml|md|py))`", readme):
        assert (ROOT / path).exists(), f"README names {path}, which does not exist"
    for path in re.findall(r"^\$ newswarc \w+ ((?:seeds|settings)/\S+)", readme, re.M):
        assert (ROOT / path).exists(), f"README runs newswarc on {path}, which does not exist"


def test_readme_lists_every_jsonl_field(demo_crawl):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = re.split(r"Each JSONL object\s+holds", readme, maxsplit=1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`?\b([a-z_0-9]+)\b`?", paragraph))
    fields = set().union(*(row.keys() for row in read_jsonl(demo_crawl)))
    assert fields - listed == set(), f"README does not list JSONL fields {sorted(fields - listed)}"


def test_readme_says_where_the_state_goes():
    """With S3 output the state database is uploaded too (crawler.context.backup_state): not "kept local"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    state_line = next(line for line in readme.splitlines() if line.startswith("state/"))
    assert "kept local" not in state_line


def test_scheduling_counts_its_ways():
    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    words = {"two": 2, "three": 3, "four": 4, "five": 5}
    said = re.search(r"There are (\w+) ways", text)
    table = text.split(said.group(0), 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]  # after the header and |---|
    assert words[said.group(1)] == len(rows), (said.group(0), rows)


def test_settings_doc_names_every_run_report_field(demo_crawl):
    import json

    report = json.loads(next((demo_crawl / "runs").glob("*.json")).read_text())
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    section = doc.split("## Run reports", 1)[1]
    names = set(report) | {f"counts.{k}" for k in report["counts"]} | {f"bytes.{k}" for k in report["bytes"]}
    missing = sorted(n for n in names if f"`{n}`" not in section)
    assert not missing, f"docs/settings.md does not document run report fields {missing}"


def test_newswarc_seeds_and_help_work_from_a_fresh_directory(tmp_path):
    """The README's first commands, from a directory that is not the checkout."""
    assert newswarc("seeds", cwd=tmp_path).returncode == 0
    assert newswarc("--version", cwd=tmp_path).stdout.startswith("newswarc ")
