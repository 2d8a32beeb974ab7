"""Seed and profile validation: every error names the file, the key and the problem."""

from pathlib import Path

import pytest

from crawler.config.profiles import load_profile
from crawler.config.seeds import load_seed, parse_seed, resolve_seed_path
from crawler.errors import ConfigError
from tests.crawl_helpers import project_settings

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


def test_every_number_and_boolean_default_is_checked():
    """A setting added to crawler/config/settings.py is range- or boolean-checked at start (check.py)."""
    from crawler.config import settings as defaults
    from crawler.config.check import BOOLS, RANGES, check_settings

    names = {n: v for n, v in vars(defaults).items() if n.isupper()}
    bools = sorted(n for n, v in names.items() if isinstance(v, bool))
    numbers = sorted(n for n, v in names.items() if isinstance(v, int | float) and not isinstance(v, bool))
    assert bools and numbers
    assert [n for n in bools if n not in BOOLS] == []
    assert [n for n in numbers if n not in RANGES] == []
    check_settings(project_settings())  # the defaults themselves pass


@pytest.mark.parametrize("name, value, words", [
    ("NEWSWARC_OUTPUT_TEXT_FILES", "maybe", "expected true or false"),
    ("NEWSWARC_ARCHIVE_WACZ", "yes please", "expected true or false"),
    ("NEWSWARC_NEAR_DUPLICATE_THRESHOLD", "0", "must be above 0 and at most 1"),
    ("NEWSWARC_NEAR_DUPLICATE_THRESHOLD", "1.5", "must be above 0 and at most 1"),
    ("NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT", "0", "must be above 0"),
    ("NEWSWARC_DISTRIBUTED_POLL", "-1", "must be above 0"),
    ("NEWSWARC_REDIS_TIMEOUT", "nan", "expected a number"),
    ("NEWSWARC_CRAWL_MAX_PAGES", "", "expected a whole number, got ''"),
])
def test_new_settings_are_checked(name, value, words):
    from crawler.config.check import check_settings

    with pytest.raises(ConfigError) as err:
        check_settings(project_settings(**{name: value}))
    assert str(err.value).startswith(name) and words in str(err.value) and err.value.exit_code == 2


def test_a_flag_is_named_for_the_setting_it_set():
    from crawler.config.check import check_settings

    with pytest.raises(ConfigError, match=r"^--workers \(NEWSWARC_EXTRACT_WORKERS\): must be between 0 and"):
        check_settings(project_settings(NEWSWARC_EXTRACT_WORKERS=999), {"NEWSWARC_EXTRACT_WORKERS": "--workers"})
    check_settings(project_settings(NEWSWARC_NEAR_DUPLICATE_THRESHOLD=1))  # 1 itself is allowed


def test_profile_threshold_is_checked_with_its_key(tmp_path):
    from crawler.config.check import check_settings

    path = write(tmp_path, "[dedup]\nnear_duplicate_threshold = 2\n", "p.toml")
    with pytest.raises(ConfigError, match=r"\(\[dedup\] near_duplicate_threshold\): must be above 0 and at most 1"):
        check_settings(project_settings(**load_profile(path)))


@pytest.mark.parametrize("language", ["en", "EN", "pt-BR", "pt_BR"])
def test_seed_and_extract_language_share_one_rule(language):
    seed = parse_seed({"name": "a", "start_urls": "https://a.example/", "language": language,
                       "extract": {"language": language}})
    assert seed.language == language


def test_every_problem_of_an_extract_table_at_once(tmp_path):
    path = write(tmp_path, 'name = "x"\nstart_urls = ["https://a.example/"]\nlanguage = "english!"\n'
                           '[extract]\nmin_word = 3\nfavor = "recal"\ntime_cap = -1\n')
    with pytest.raises(ConfigError) as err:
        load_seed(path)
    keys = [key for key, _ in err.value.problems]
    assert sorted(keys) == ["extract.favor", "extract.min_word", "extract.time_cap", "language"], keys
    text = str(err.value)
    assert "extract.min_word: unknown key; did you mean 'min_words'?" in text
    assert "did you mean 'recall'?" in text


def test_one_plain_name_rule_for_seeds_and_file_name_settings():
    from crawler.config.seeds import check_plain_name

    for bad in ("a..b", "x" * 65, "a/b"):
        with pytest.raises(ConfigError):
            parse_seed({"name": bad, "start_urls": "https://a.example/"})
        with pytest.raises(ConfigError):
            check_plain_name(bad, "NEWSWARC_ARCHIVE_PREFIX")
    assert check_plain_name("x" * 64, "NEWSWARC_ARCHIVE_PREFIX") == "x" * 64
