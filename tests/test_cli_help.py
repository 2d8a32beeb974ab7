"""``--help`` is complete for every command, and README's command list matches the parser."""

from __future__ import annotations

import re

import pytest

from tests.crawl_helpers import ROOT, newswarc

COMMANDS = ["crawl", "demo", "replay", "index", "sync", "schedule", "seeds", "wacz", "browse", "export", "report",
            "worker", "enqueue", "status"]


def _help(*args: str) -> str:
    proc = newswarc(*args, "--help")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return proc.stdout


def _sections(text: str) -> dict[str, str]:
    """``positional arguments:``, ``options:`` ... -> their indented bodies; '' -> the description."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.split("\n\n", 1)[1].splitlines() if "\n\n" in text else []:
        if re.match(r"^[A-Za-z][\w ]*:$", line):
            current = line[:-1]
            out[current] = []
        else:
            out.setdefault(current, []).append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def test_top_level_help_lists_every_command_with_exit_codes():
    text = _help()
    listed = set(re.findall(r"^    (\w+)\s{2,}\S", text, re.M))
    assert listed == set(COMMANDS)
    assert "Exit codes" in text and "130" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_positional_help_and_exit_codes(command):
    text = _help(command)
    sections = _sections(text)
    assert sections[""], f"{command} --help has no description"
    lines = sections.get("positional arguments", "").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^  \S", line):  # a positional: its help follows on the line or on the next, indented
            helped = len(line.split(None, 1)) > 1 or (i + 1 < len(lines) and lines[i + 1].startswith(" " * 10))
            assert helped, f"{command}: positional {line.strip()} has no help"
    assert "Exit codes:" in text, f"{command} --help lists no exit codes"
    codes = set(re.findall(r"\b(\d+)\b", text.split("Exit codes:", 1)[1]))
    assert {"0", "2", "130"} <= codes, (command, codes)


def test_exit_codes_each_command_can_return_are_listed():
    assert {"0", "1", "2", "3", "4", "130"} <= set(re.findall(r"\b\d+\b", _help("crawl").split("Exit codes:")[1]))
    assert {"0", "1", "2", "3", "130"} <= set(re.findall(r"\b\d+\b", _help("replay").split("Exit codes:")[1]))


def test_sync_offers_only_what_means_something_there():
    text = _help("sync")
    assert "DIR|" not in text and "s3://BUCKET/PREFIX" in text
    assert "NEWSWARC_SPOOL_DIR" in text  # the settings -s can change there (spool, S3 client)


def test_demo_articles_is_n():
    assert "--articles N" in _help("demo")


def _readme_command_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## The command line", 1)[1].split("```", 2)[1]
    lines, current = [], ""
    for line in block.splitlines():
        if line.startswith("newswarc "):
            if current:
                lines.append(current)
            current = line.split("#", 1)[0]
        elif line.startswith(" ") and current:
            current += " " + line.split("#", 1)[0].strip()
    return [*lines, current] if current else lines


def test_readme_command_list_matches_the_parser():
    by_command: dict[str, str] = {}
    for line in _readme_command_lines():
        word = line.split()[1]
        if not word.startswith("-"):
            by_command[word] = by_command.get(word, "") + " " + line
    assert set(by_command) == set(COMMANDS), set(by_command) ^ set(COMMANDS)
    for command, line in by_command.items():
        usage = _help(command).split("\n\n", 1)[0]
        for option in re.findall(r"(?<![\w|/-])(--?[a-z][\w-]*)", line):
            assert option in usage, f"README names `{option}` for `newswarc {command}`, the parser has not"
        for option in re.findall(r"\[(--[a-z][\w-]*)", usage):
            if option not in ("--help", "--verbose", "--quiet", "--log-file"):
                assert option in line, f"`newswarc {command}` has {option}, README's command list has not"
