"""Every setting is range-checked at start: one line naming it, exit 2, nothing crawled."""

from __future__ import annotations

import pytest

from tests.reliability.hostile import no_traceback, run_newswarc

PROFILE_CASES = [
    ("[archive]\ngzip_level = 99\n", "NEWSWARC_ARCHIVE_GZIP_LEVEL"),
    ("[archive]\nmax_size = 0\n", "NEWSWARC_ARCHIVE_MAX_SIZE"),
    ("[archive]\nqueue_size = 0\n", "NEWSWARC_ARCHIVE_QUEUE_SIZE"),
    ("[archive]\nmax_body = -1\n", "NEWSWARC_ARCHIVE_MAX_BODY"),
    ("[archive]\nmax_body = 0\n", "NEWSWARC_ARCHIVE_MAX_BODY"),
    ("[crawl]\ndownload_timeout = -5\n", "DOWNLOAD_TIMEOUT"),
    ("[crawl]\nlog_level = \"BOGUS\"\n", "crawl.log_level"),
    ("[crawl]\nconcurrency = 0\n", "CONCURRENT_REQUESTS"),
    ("[extract]\ntimeout = 0\n", "NEWSWARC_EXTRACT_TIMEOUT"),
    ("[extract]\nworkers = 32\n", "NEWSWARC_EXTRACT_WORKERS"),
    ("[s3]\nread_timeout = 0\n", "NEWSWARC_S3_READ_TIMEOUT"),
]
FLAG_CASES = [
    ("CONCURRENT_REQUESTS=abc", "CONCURRENT_REQUESTS"),
    ("NEWSWARC_ARCHIVE_GZIP_LEVEL=1.5", "NEWSWARC_ARCHIVE_GZIP_LEVEL"),
    ("DOWNLOAD_TIMEOUT=nan", "DOWNLOAD_TIMEOUT"),
    ("NEWSWARC_STATE_ENABLED=maybe", "NEWSWARC_STATE_ENABLED"),
]
SEED_CASES = [
    ("allowed_domains = []\n", "allowed_domains"),
    ('since = "99999999999999999999d"\n', "since"),
    ("recheck_hours = 1e308\n", "recheck_hours"),
]


def _seed(tmp_path, extra: str = ""):
    seed = tmp_path / "s.toml"
    seed.write_text(f'name = "s"\nstart_urls = ["http://127.0.0.1:9/"]\n{extra}')
    return seed


def _refused(run, name: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and lines[0].startswith("newswarc: "), lines
    assert no_traceback(run.stderr)


@pytest.mark.parametrize("profile, name", PROFILE_CASES)
def test_profile_values_out_of_range(tmp_path, profile, name):
    (tmp_path / "p.toml").write_text(profile)
    run = run_newswarc("crawl", str(_seed(tmp_path)), "--out", str(tmp_path / "out"), "--settings", str(tmp_path / "p.toml"))
    _refused(run, name)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, name", FLAG_CASES)
def test_flag_values_out_of_range(tmp_path, flag, name):
    run = run_newswarc("crawl", str(_seed(tmp_path)), "--out", str(tmp_path / "out"), "-s", flag)
    _refused(run, name)


def test_a_state_path_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    run = run_newswarc("crawl", str(_seed(tmp_path)), "--out", str(tmp_path / "out"),
                       "-s", f"NEWSWARC_STATE_PATH={tmp_path / 'file' / 'state.sqlite'}")
    _refused(run, "NEWSWARC_STATE_PATH")


@pytest.mark.parametrize("extra, key", SEED_CASES)
def test_seed_values_out_of_range(tmp_path, extra, key):
    for command in (["seeds"], ["crawl", "--out", str(tmp_path / "out")]):
        run = run_newswarc(command[0], str(_seed(tmp_path, extra)), *command[1:])
        _refused(run, key)


def test_replay_workers_out_of_range(tmp_path):
    (tmp_path / "w.warc.gz").write_bytes(b"")
    run = run_newswarc("replay", str(tmp_path / "w.warc.gz"), "--out", str(tmp_path / "out"), "--workers", "999")
    _refused(run, "--workers")
