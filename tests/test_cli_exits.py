"""The CLI's one exit-code table, and the command-line mends of the review (priorities, typos, paths)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from scrapy.crawler import Crawler

import crawler.cli.crawl
import crawler.replay.api
import crawler.warc.wacz
from crawler.cli import demo
from crawler.cli.args import EXIT_CODES, EXIT_CONFIG, EXIT_INCOMPLETE, EXIT_OK, EXIT_STORAGE
from crawler.cli.crawl import _total_pages, build_settings
from crawler.cli.main import main
from crawler.cli.parser import make_parser
from crawler.cli.progress import CrawlProgress, crawl_stats
from crawler.config.check import NEWSWARC_NAMES, check_setting_name, check_settings
from crawler.config.seeds import load_seed, parse_seed
from crawler.crawl.spider import NewsSpider
from crawler.errors import ConfigError, NewswarcError
from crawler.replay.options import parse_when
from tests.crawl_helpers import ROOT, newswarc, project_settings, write_seed

LOADED = (crawler.cli.crawl, crawler.replay.api, crawler.warc.wacz)  # the commands' error classes


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_user_error_exits_with_a_code_of_the_table():
    """An exception class's ``exit_code`` is one the ``Exit codes:`` help explains."""
    for cls in [NewswarcError, *_subclasses(NewswarcError)]:
        assert cls.exit_code in EXIT_CODES, cls


# --- the demo's settings -------------------------------------------------------------------

def _demo_settings(monkeypatch, tmp_path, *args: str):
    """The settings ``newswarc demo ARGS`` would crawl with (the crawl itself is not run)."""
    seen = {}

    def no_crawl(seeds, settings, **kwargs):
        seen["settings"] = settings
        return EXIT_OK, []

    monkeypatch.setattr(demo, "run_crawl", no_crawl)
    assert main(["demo", "--articles", "20", "-q", "--out", str(tmp_path / "out"), *args]) == EXIT_OK
    return seen["settings"]


def test_the_demo_crawls_without_autothrottle_whatever_the_profile_says(monkeypatch, tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text("[crawl]\nautothrottle = true\n", encoding="utf-8")
    assert _demo_settings(monkeypatch, tmp_path).getbool("AUTOTHROTTLE_ENABLED") is False
    assert _demo_settings(monkeypatch, tmp_path, "--settings", str(profile)).getbool("AUTOTHROTTLE_ENABLED") is False


def test_the_users_own_autothrottle_setting_wins_in_the_demo(monkeypatch, tmp_path):
    settings = _demo_settings(monkeypatch, tmp_path, "-s", "AUTOTHROTTLE_ENABLED=True")
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True


# --- output locations ----------------------------------------------------------------------

def test_replay_to_an_unusable_output_is_one_line_and_exit_3(tmp_path, capsys):
    """The output is checked before its lock is taken: no traceback from the lock's mkdir."""
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    for out in ("/proc/newswarc-x", str(blocked / "out")):
        code = main(["replay", str(tmp_path / "x.warc"), "--out", out, "-q"])
        err = capsys.readouterr().err.strip()
        assert code == EXIT_STORAGE, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith("newswarc: ") and "cannot create output directory" in err, err


# --- a crawler that never started ----------------------------------------------------------

def test_the_stats_of_a_crawler_that_never_started_are_empty():
    """Scrapy 2.19's Crawler.stats raises until the crawl starts: the live line and the end of
    :func:`run_crawl` read a seed that could not start as no stats, not as a traceback."""
    crawler = Crawler(NewsSpider)
    assert crawl_stats(crawler) == {}
    assert CrawlProgress([crawler], stream=io.StringIO()).totals() == {"pages": 0, "articles": 0, "queue": 0}


# --- --log-file ----------------------------------------------------------------------------

def test_replay_writes_its_full_log_to_the_log_file(tmp_path):
    """Commands that do not crawl honour --log-file too (INFO and up there; the terminal stays quiet)."""
    (tmp_path / "x.warc").write_bytes(b"junk")
    proc = newswarc("replay", "x.warc", "--jsonl", "-", "-q", "--log-file", "log.txt", cwd=tmp_path)
    assert proc.returncode == EXIT_INCOMPLETE, proc.stderr  # damaged input
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert "INFO: Replaying x.warc" in log and "not a WARC record header" in log, log
    assert "Replaying" not in proc.stderr and "not a WARC record header" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", [("replay", "x.warc", "--jsonl", "-"), ("crawl", "demo", "--out", "o")])
def test_an_unwritable_log_file_is_one_line_and_exit_2(command, tmp_path):
    proc = newswarc(*command, "--log-file", "/proc/newswarc-x/log", cwd=tmp_path)
    err = proc.stderr.strip()
    assert proc.returncode == EXIT_CONFIG, err
    assert err.splitlines() == [err] and "Traceback" not in err, err
    assert err.startswith("newswarc: --log-file /proc/newswarc-x/log: cannot write"), err


# --- -s NEWSWARC_* -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "hint"), [("NEWSWARC_OUTPT_URI", "did you mean NEWSWARC_OUTPUT_URI?"),
                                            ("NEWSWARC_EXTRACT_WORKER", "did you mean NEWSWARC_EXTRACT_WORKERS?"),
                                            ("NEWSWARC_ZZZ", "docs/settings.md")])
def test_an_unknown_newswarc_setting_is_refused_with_the_closest_name(name, hint, tmp_path, capsys):
    code = main(["crawl", "demo", "--out", str(tmp_path / "o"), "-s", f"{name}=1"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_CONFIG, err
    assert err.splitlines() == [err] and err.startswith(f"newswarc: -s {name}: unknown newswarc setting"), err
    assert hint in err, err
    assert not (tmp_path / "o").exists()  # refused before anything starts


def test_every_newswarc_setting_and_scrapys_own_pass(tmp_path):
    for name in [*sorted(NEWSWARC_NAMES), "DOWNLOAD_DELAY", "SOME_ADDON_SETTING"]:
        check_setting_name(name)


# --- page budgets --------------------------------------------------------------------------

def _budget(tmp_path, *flags: str) -> int | None:
    """The max_pages of the spider that ``newswarc crawl SEED FLAGS`` starts (seed: max_pages 50)."""
    seed_file = write_seed(tmp_path, "http://127.0.0.1:9/", name="budget", max_pages=50)
    profile = tmp_path / "p.toml"
    profile.write_text("[crawl]\nmax_pages = 100\n", encoding="utf-8")
    args = make_parser().parse_args(["crawl", str(seed_file), "--settings", str(profile), *flags])
    settings = build_settings(args)
    spider = NewsSpider.from_crawler(Crawler(NewsSpider, settings), seed=load_seed(seed_file))
    assert _total_pages([spider.seed], settings) == spider.max_pages  # the live line's ETA agrees
    return spider.max_pages


def test_the_command_lines_page_budget_wins_over_the_seeds(tmp_path):
    assert _budget(tmp_path) == 50  # the seed's over the profile's
    assert _budget(tmp_path, "--max-pages", "3") == 3
    assert _budget(tmp_path, "-s", "NEWSWARC_CRAWL_MAX_PAGES=7") == 7
    assert _budget(tmp_path, "--max-pages", "500") == 500  # above the seed's too: the user asked for it


# --- one rule, one place -------------------------------------------------------------------

def test_a_log_level_has_one_rule_in_a_profile_and_on_the_command_line(tmp_path, capsys):
    """The profile's is checked by the profile parser (-v/-q replace it before check_settings runs)."""
    profile = tmp_path / "p.toml"
    profile.write_text('[crawl]\nlog_level = "LOUD"\n', encoding="utf-8")
    assert main(["crawl", "demo", "--settings", str(profile)]) == EXIT_CONFIG
    err = capsys.readouterr().err.strip()
    problem = "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'"
    assert err == f"newswarc: {profile}: crawl.log_level: {problem}", err
    with pytest.raises(ConfigError) as setting_error:
        check_settings(project_settings(LOG_LEVEL="LOUD"))
    assert setting_error.value.problems == [(None, problem)]
    check_settings(project_settings(LOG_LEVEL=10))  # a level number, as Scrapy allows


def test_seed_names_and_file_name_settings_share_one_message():
    with pytest.raises(ConfigError) as seed_error:
        parse_seed({"name": "a/b", "start_urls": "https://a.example/"})
    with pytest.raises(ConfigError) as setting_error:
        check_settings(project_settings(NEWSWARC_ARCHIVE_PREFIX="a/b"))
    assert seed_error.value.problems[0][1] == setting_error.value.problems[0][1]


def test_any_command_whose_reader_is_gone_exits_141_quietly():
    """``newswarc seeds | head -0`` (any command, not only ``--jsonl -``): exit 141 as a shell reports
    ``yes | head``, no traceback, no "Exception ignored" at interpreter exit."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes: EPIPE on its first flush
    try:
        proc = subprocess.run([sys.executable, "-m", "crawler.cli", "seeds"], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr


def test_a_duration_error_names_the_flag_once():
    """``--until 999999w``: the line names ``--until``, not a seed file's ``since`` key."""
    with pytest.raises(ConfigError) as err:
        parse_when("999999w", end=True, flag="--until")
    assert str(err.value) == "--until: '999999w' is more than 100 years"


_BROKEN_WORKERS = """
import sys

import crawler.extract.pool as pool
from crawler.cli.main import main

_init = pool.ExtractionPool.__init__


def _broken(self, *args, **kwargs):
    kwargs["func"] = "json:no_such_function"  # the workers die before they are ready, as with a broken install
    _init(self, *args, **kwargs)


pool.ExtractionPool.__init__ = _broken
sys.exit(main(sys.argv[1:]))
"""


def test_extraction_workers_that_cannot_start_stop_crawl_and_replay_with_one_line(tmp_path, demo_server):
    """Not every further article archived without its text, nor a replay counting each page as crashed."""
    from tests.crawl_helpers import FAST

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", _BROKEN_WORKERS, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)})

    seed = write_seed(tmp_path, demo_server.url, max_pages=300)
    out = tmp_path / "out"
    crawl = run("crawl", str(seed), "--out", str(out), *FAST, "-s", "NEWSWARC_EXTRACT_WORKERS=1")
    assert crawl.returncode == EXIT_INCOMPLETE, crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr  # the workers' tracebacks go to the log at debug level
    said = [line for line in crawl.stderr.splitlines() if "extraction stopped the crawl" in line]
    assert said and said[0].startswith("newswarc: demo: extraction stopped the crawl: 5 extraction workers in a row "
                                       "died before they were ready (the last: AttributeError: "), crawl.stderr[-3000:]
    assert said[0].endswith("can be re-extracted with `newswarc replay`")
    assert "Skipped" not in crawl.stderr  # one line, not one per article in flight
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert warcs, "the pages fetched before the stop are archived"

    replayed = run("replay", str(out / "warc"), "--jsonl", str(tmp_path / "broken.jsonl"), "--workers", "1")
    assert replayed.returncode == EXIT_INCOMPLETE, replayed.stderr[-3000:]
    assert "Traceback" not in replayed.stderr
    line = replayed.stderr.strip().splitlines()[-1]
    assert line.startswith("newswarc: replay stopped: 5 extraction workers in a row died"), replayed.stderr[-3000:]
    assert line.endswith("0 articles were written before")

    fixed = newswarc("replay", str(out / "warc"), "--jsonl", str(tmp_path / "fixed.jsonl"))  # a working install
    assert fixed.returncode == EXIT_OK, fixed.stderr[-2000:]
    assert (tmp_path / "fixed.jsonl").read_text().count("\n") >= 1
