"""Seed and profile validation: every error names the file, the key and the problem."""

from pathlib import Path

import pytest

from crawler.config.seeds import load_profile, load_seed, parse_seed, resolve_seed_path
from crawler.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_seeds_are_valid():
    italy = load_seed(ROOT / "seeds" / "italy24press.toml")
    assert italy.name == "italy24press"
    assert italy.start_urls == ("https://www.italy24press.com/",)
    assert italy.allowed_domains == ("italy24press.com",)
    assert italy.schedule and italy.since_seconds == 3 * 86400
    demo = load_seed(ROOT / "seeds" / "demo.toml")
    assert demo.name == "demo"


def test_seed_name_resolves_in_seeds_dir(tmp_path):
    (tmp_path / "seeds").mkdir()
    write(tmp_path / "seeds", 'name = "x"\nstart_urls = ["https://x.example/"]\n', "x.toml")
    assert resolve_seed_path("x", tmp_path / "seeds") == tmp_path / "seeds" / "x.toml"
    assert load_seed("x", tmp_path / "seeds").start_urls == ("https://x.example/",)


def test_defaults_and_optional_keys(tmp_path):
    seed = load_seed(write(tmp_path, '''
name = "news"
start_urls = ["https://www.news.example/", "https://news.example/world/"]
sitemaps = ["https://news.example/sitemap.xml"]
feeds = ["https://news.example/feed/"]
article_url_patterns = ["/20\\\\d\\\\d/"]
deny_url_patterns = ["/tag/"]
max_pages = 50
max_depth = 0
language = "en"
schedule = "*/30 * * * *"
since = "12h"
recheck_hours = 6
'''))
    assert seed.allowed_domains == ("news.example",)
    assert seed.article_url_patterns[0].search("https://news.example/2026/01/x/")
    assert seed.max_pages == 50 and seed.max_depth == 0
    assert seed.since_seconds == 12 * 3600 and seed.recheck_hours == 6.0


@pytest.mark.parametrize(
    "body, key, problem",
    [
        ('name = "x"\nstart_urls = ["https://a.example/"]\nstart_url = "x"\n', "start_url", "unknown key"),
        ('start_urls = ["https://a.example/"]\n', "name", "required key is missing"),
        ('name = "x"\n', "start_urls", "required key is missing"),
        ('name = "x"\nstart_urls = ["ftp://a.example/"]\n', "start_urls[0]", "not an absolute http(s) URL"),
        ('name = "x"\nstart_urls = ["/relative"]\n', "start_urls[0]", "not an absolute http(s) URL"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\narticle_url_patterns = ["(unclosed"]\n',
         "article_url_patterns[0]", "bad regex"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\nmax_pages = 0\n', "max_pages", "whole number"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\nschedule = "every hour"\n', "schedule", "cron"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\nsince = "yesterday"\n', "since", "duration"),
        ('name = "x y"\nstart_urls = ["https://a.example/"]\n', "name", "short id"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\nallowed_domains = ["https://a.example/"]\n',
         "allowed_domains", "bare host name"),
    ],
)
def test_seed_errors_name_file_key_problem(tmp_path, body, key, problem):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_seed(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message
    assert "\n" not in message
    assert err.value.exit_code == 2


def test_broken_toml_and_missing_file(tmp_path):
    path = write(tmp_path, 'name = "x\nstart_urls = [')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_seed(path)
    with pytest.raises(ConfigError, match="no such file"):
        load_seed(tmp_path / "nope.toml")


def test_parse_seed_from_mapping():
    seed = parse_seed({"name": "a", "start_urls": "https://a.example/"})
    assert seed.start_urls == ("https://a.example/",)
    moved = seed.with_start_urls(["http://127.0.0.1:9999/"])
    assert moved.allowed_domains == ("127.0.0.1",) and moved.name == "a"


def test_default_profile_maps_to_scrapy_settings():
    settings = load_profile(ROOT / "settings" / "default.toml")
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 4
    assert "contact" in settings["USER_AGENT"]
    assert settings["NEWSWARC_OUTPUT_URI"] == "archive"


def test_all_shipped_profiles_are_valid():
    for path in sorted((ROOT / "settings").glob("*.toml")):
        assert isinstance(load_profile(path), dict), path


@pytest.mark.parametrize(
    "body, key",
    [
        ("[crawl]\nobey_robot = true\n", "crawl.obey_robot"),
        ("[crawl]\nconcurrency_per_domain = \"4\"\n", "crawl.concurrency_per_domain"),
        ("[archive]\nmax_size = true\n", "archive.max_size"),
        ("[outptu]\nuri = \"x\"\n", "outptu"),
        ("[scrapy]\ndownload_delay = 1\n", "scrapy.download_delay"),
    ],
)
def test_profile_errors(tmp_path, body, key):
    path = write(tmp_path, body, "profile.toml")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_profile_scrapy_passthrough(tmp_path):
    path = write(tmp_path, "[scrapy]\nDOWNLOAD_DELAY = 0.5\n[output]\nuri = \"s3://b/p\"\n", "p.toml")
    assert load_profile(path) == {"DOWNLOAD_DELAY": 0.5, "NEWSWARC_OUTPUT_URI": "s3://b/p"}
