"""Every user mistake is one line on stderr and exit code 2, from any directory, never a traceback."""

from __future__ import annotations

import pytest

from tests.crawl_helpers import newswarc

EXIT_CONFIG = 2


def _one_line_error(proc, *needles: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == EXIT_CONFIG, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr, proc.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("newswarc"), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


BAD_ARGUMENTS = [
    (("demo", "--articles", "5"), ("--articles", "20")),
    (("demo", "--articles", "many"), ("--articles", "many")),
    (("crawl", "demo", "--max-pages", "0"), ("--max-pages", "0")),
    (("crawl", "demo", "--max-pages", "-1"), ("--max-pages", "-1")),
    (("replay", "x.warc", "--jsonl", "-", "--workers", "-1"), ("--workers",)),
    (("schedule", "--max-runs", "0"), ("--max-runs",)),
    (("replay", "x.warc", "--jsonl", "-", "--since", "yesterday"), ("--since", "yesterday")),
    (("crawl",), ("SEED",)),
    (("crawl", "demo", "--bogus"), ("--bogus",)),
    (("crawl", "demo", "-s", "lowercase=1"), ("-s",)),
    (("crawl", "demo", "--jsonl", "out.jsonl"), ("--jsonl",)),
    (("frobnicate",), ("frobnicate",)),
    (("replay", "x.warc"), ("nothing to write",)),
]


@pytest.mark.parametrize(("args", "needles"), BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_one_line_and_exit_2(args, needles, tmp_path):
    _one_line_error(newswarc(*args, cwd=tmp_path), *needles)


def test_unknown_command_suggests_the_close_one(tmp_path):
    _one_line_error(newswarc("crawll", "demo", cwd=tmp_path), "crawll", "did you mean 'crawl'")


def test_every_problem_of_a_seed_file_at_once(tmp_path):
    seed = tmp_path / "two.toml"
    seed.write_text('name = "two"\nstart_urls = ["http://127.0.0.1:9/"]\nfedes = ["x"]\nmax_dept = 2\n'
                    'max_pages = 0\narticle_url_patterns = ["(unclosed"]\n', encoding="utf-8")
    proc = newswarc("crawl", str(seed), cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith(f"newswarc: {seed}: ") for line in lines), lines
    text = "\n".join(lines)
    assert "fedes: unknown key; did you mean 'feeds'?" in text
    assert "max_dept: unknown key; did you mean 'max_depth'?" in text
    assert "max_pages: expected a whole number >= 1, got 0" in text
    assert "article_url_patterns[0]: bad regex '(unclosed'" in text


def test_every_problem_of_a_profile_at_once(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('[crawl]\nconcurency = 2\nretry_times = "two"\n[outptu]\nuri = "x"\n', encoding="utf-8")
    proc = newswarc("crawl", "demo", "--settings", str(profile), cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG and "Traceback" not in proc.stderr, proc.stderr
    text = proc.stderr.strip()
    assert len(text.splitlines()) == 3, text
    assert "crawl.concurency: unknown key; did you mean 'concurrency'?" in text
    assert "crawl.retry_times: expected int, got 'two'" in text
    assert "outptu: unknown section; did you mean 'output'?" in text


def test_seeds_reports_every_broken_seed(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.toml").write_text('name = "a"\nstart_urls = ["ftp://x/"]\n', encoding="utf-8")
    (seeds / "b.toml").write_text('name = "b"\nstart_urls = ["http://127.0.0.1:9/"]\nlanguge = "en"\n',
                                  encoding="utf-8")
    proc = newswarc("seeds", cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    assert "a.toml: start_urls[0]: not an absolute http(s) URL" in proc.stderr
    assert "b.toml: languge: unknown key; did you mean 'language'?" in proc.stderr
    assert "Traceback" not in proc.stderr
