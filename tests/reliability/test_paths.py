"""Paths built from configuration never leave the output: WARC prefix, run id, site names, keys."""

from __future__ import annotations

import pytest

from crawler.errors import StorageError
from crawler.storage.local import LocalStorage
from tests.crawl_helpers import read_jsonl, write_seed
from tests.reliability.hostile import FAST, HostileServer, news_site, no_traceback, run_newswarc


def _outside(tmp_path, out) -> list[str]:
    allowed = {out, tmp_path / "seeds", tmp_path / "profile.toml", tmp_path / "replayed"}
    return [str(p) for p in tmp_path.rglob("*") if p.is_file()
            and not any(p == a or a in p.parents for a in allowed)]


@pytest.mark.parametrize("how", ["profile", "-s"])
@pytest.mark.parametrize("prefix", ["../../escape/EVIL", "/tmp/newswarc-escape/EVIL", "a/b", ".."])
def test_a_prefix_that_leaves_the_output_is_refused(tmp_path, prefix, how):
    (tmp_path / "seeds").mkdir()
    seed = write_seed(tmp_path / "seeds", "http://127.0.0.1:9/")
    out = tmp_path / "out"
    args = ["crawl", str(seed), "--out", str(out)]
    if how == "profile":
        (tmp_path / "profile.toml").write_text(f'[archive]\nprefix = "{prefix}"\n')
        args += ["--settings", str(tmp_path / "profile.toml")]
    else:
        args += ["-s", f"NEWSWARC_ARCHIVE_PREFIX={prefix}"]
    run = run_newswarc(*args)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEWSWARC_ARCHIVE_PREFIX ([archive] prefix)" in lines[0], lines
    assert no_traceback(run.stderr)
    assert not out.exists() and not _outside(tmp_path, out)
    from pathlib import Path

    assert not Path("/tmp/newswarc-escape").exists()


def test_a_run_id_that_leaves_the_output_is_refused(tmp_path):
    seed = write_seed(tmp_path, "http://127.0.0.1:9/")
    run = run_newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-s", "NEWSWARC_RUN_ID=../../x")
    assert run.returncode == 2 and "NEWSWARC_RUN_ID" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_seed_names_and_replay_site_names_stay_inside(tmp_path):
    (tmp_path / "seeds").mkdir()
    bad = tmp_path / "seeds" / "bad.toml"
    bad.write_text('name = "../../x"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    run = run_newswarc("crawl", str(bad), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "name" in run.stderr and no_traceback(run.stderr)

    with HostileServer() as srv:
        good = news_site(srv, 3)
        seed = write_seed(tmp_path / "seeds", srv.url)
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
        assert run.returncode == 0, run.stderr[-2000:]
    replayed = tmp_path / "replayed"
    run = run_newswarc("replay", str(out / "warc"), "--out", str(replayed), "--site", "../../../escape", "--workers", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(read_jsonl(replayed, open_parts=True)) == len(good)
    assert not _outside(tmp_path, out)


def test_storage_refuses_keys_outside_the_output(tmp_path):
    storage = LocalStorage(tmp_path / "out")
    for key in ("../x", "/etc/x", "warc/../../x", "a\\..\\b", ""):
        with pytest.raises(StorageError):
            storage.local_path(key)
        with pytest.raises(StorageError):
            storage.write_bytes(key, b"x")
    assert not (tmp_path / "x").exists()
