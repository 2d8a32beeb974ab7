"""What a fresh install gives: declared dependencies, the lock, bundled seeds, one-line import failures."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.crawl_helpers import ROOT, newswarc

# Standard library of later Pythons, imported where present (warc/codecs.py: zstd from Python 3.14)
LATER_STDLIB = {"compression"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level modules imported anywhere in crawler/ (inside functions too) -> files importing them."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "crawler").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "crawler" and top not in sys.stdlib_module_names and top not in LATER_STDLIB:
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    """Core dependencies and the optional extras a user installs (``browse``), not the test tools."""
    extras = [r for name, reqs in PYPROJECT["project"].get("optional-dependencies", {}).items() if name != "test"
              for r in reqs]
    return {canonicalize_name(Requirement(r).name) for r in [*PYPROJECT["project"]["dependencies"], *extras]}


def _locked(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line):
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_every_third_party_import_is_a_declared_dependency():
    imports = _third_party_imports()
    assert {"scrapy", "trafilatura", "warcio", "lxml", "boto3"} <= set(imports)  # the scan sees them
    owners = metadata.packages_distributions()
    declared = _declared()
    missing = {}
    for module, files in imports.items():
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        assert dists, f"{module} (imported by {files[0]}) belongs to no installed distribution"
        if not dists & declared:
            missing[module] = (sorted(dists), files[0])
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_jusText_needs_lxml_html_clean_and_it_is_declared():
    """Stock pip 23 does not resolve jusText's lxml[html_clean] extra; we name the package ourselves."""
    assert "lxml-html-clean" in _declared()
    import lxml.html.clean  # noqa: F401  (raises when lxml_html_clean is missing)


def test_lock_pins_every_declared_dependency_within_its_range():
    for lock in ("runtime.txt", "test.txt"):
        pins = _locked(lock)
        for spec in PYPROJECT["project"]["dependencies"]:
            req = Requirement(spec)
            name = canonicalize_name(req.name)
            assert name in pins, f"{lock}: {name} is declared but not locked (run `make lock`)"
            assert req.specifier.contains(pins[name], prereleases=True), f"{lock}: {name}=={pins[name]} !~ {req}"
    test_pins = _locked("test.txt")
    for spec in PYPROJECT["project"]["optional-dependencies"]["test"]:
        assert canonicalize_name(Requirement(spec).name) in test_pins, f"test.txt: {spec} not locked"


def test_lock_pins_every_extra_within_its_range():
    """The browse and distributed extras are in both locks, the test extra in test.txt, each within its range."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    for lock, names in (("runtime.txt", ("browse", "distributed")), ("test.txt", ("browse", "distributed", "test"))):
        pins = _locked(lock)
        for extra in names:
            for spec in extras[extra]:
                req = Requirement(spec)
                name = canonicalize_name(req.name)
                assert name in pins, f"{lock}: {name} ({extra} extra) is declared but not locked (run `make lock`)"
                assert req.specifier.contains(pins[name], prereleases=True), f"{lock}: {name}=={pins[name]} !~ {req}"


def test_build_lock_pins_the_build_backend_within_its_range_with_hashes():
    """``make install`` builds newswarc without build isolation, with requirements/build.txt installed first."""
    pins = _locked("build.txt")
    for spec in PYPROJECT["build-system"]["requires"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"build.txt: {name} is a build requirement but not locked (run `make lock`)"
        assert req.specifier.contains(pins[name], prereleases=True), f"build.txt: {name}=={pins[name]} !~ {req}"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / "build.txt").read_text(encoding="utf-8"))
    assert all("--hash=sha256:" in b for b in blocks if re.match(r"^[A-Za-z0-9_.\-]+==", b)), "build.txt: no hash"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert makefile.count("-r requirements/build.txt") == 2 and makefile.count("--no-build-isolation -e .") == 2


def test_lock_has_hashes_for_every_pin():
    for lock in ("runtime.txt", "test.txt"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text(encoding="utf-8"))
        pins = [b for b in blocks if re.match(r"^[A-Za-z0-9_.\-]+==", b)]
        assert len(pins) > 20
        assert all("--hash=sha256:" in b for b in pins), f"{lock}: a pin without a hash"


def test_installed_versions_are_the_locked_ones():
    pins = _locked("test.txt")
    for dist in ("scrapy", "trafilatura", "warcio", "lxml", "boto3", "twisted"):
        assert metadata.version(dist) == pins[dist], f"{dist}: installed {metadata.version(dist)}, locked {pins[dist]}"


def test_version_names_the_libraries():
    result = newswarc("--version")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"newswarc {metadata.version('newswarc')}"
    for dist in ("scrapy", "twisted", "trafilatura", "warcio", "lxml", "boto3"):
        assert f"  {dist} {metadata.version(dist)}" in lines


def test_bundled_seeds_and_profiles_are_package_data():
    """Wheels carry crawler/bundled/{seeds,settings} (links to seeds/ and settings/ in the tree)."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["crawler"]
    files = {p.relative_to(ROOT / "crawler").as_posix() for pat in patterns for p in (ROOT / "crawler").glob(pat)}
    assert {"bundled/seeds/demo.toml", "bundled/seeds/italy24press.toml",
            "bundled/settings/default.toml"} <= files
    assert (ROOT / "crawler/bundled/seeds/demo.toml").read_bytes() == (ROOT / "seeds/demo.toml").read_bytes()


def test_seeds_from_another_directory_lists_the_bundled_ones(tmp_path):
    result = newswarc("seeds", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert {"demo", "italy24press"} <= set(names)


def test_own_seeds_win_over_the_bundled_ones(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "demo.toml").write_text('name = "mine"\nstart_urls = ["https://mine.example/"]\n')
    result = newswarc("seeds", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mine: seeds/demo.toml") and "mine.example" in result.stdout
    listed = newswarc("seeds", cwd=tmp_path).stdout
    assert "mine.example" in listed and "italy24press" in listed and "127.0.0.1" not in listed


def test_unknown_seed_name_lists_the_known_ones(tmp_path):
    result = newswarc("crawl", "demoo", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "did you mean 'demo'?" in result.stderr and "known seeds: demo, italy24press" in result.stderr
    assert result.stderr.startswith("newswarc") and "Traceback" not in result.stderr and "usage:" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_demo_from_another_directory_uses_the_bundled_seed(tmp_path):
    out = tmp_path / "x"
    result = newswarc("demo", "--out", str(out), "--articles", "20", "-q", "-s", "AUTOTHROTTLE_ENABLED=False",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for p in (out / "articles").rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(rows) == 19 and {r["site"] for r in rows} == {"demo"}
    (report,) = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert report["seed_file"].endswith("crawler/bundled/seeds/demo.toml")
    assert not (tmp_path / "archive").exists()  # the bundled default profile's `archive` is not used: --out is


def test_a_missing_dependency_is_one_line_with_the_fix(tmp_path):
    """lxml_html_clean made unimportable (as a stock-pip install of jusText leaves it): one line, exit 1."""
    shadow = tmp_path / "shadow" / "lxml_html_clean"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'lxml_html_clean'\", name='lxml_html_clean')\n")
    seed = tmp_path / "s.toml"
    seed.write_text('name = "s"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    env = {"PYTHONPATH": f"{shadow.parent}:{ROOT}"}
    result = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "pip install lxml_html_clean" in result.stderr and "Traceback" not in result.stderr
    verbose = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-v", env=env, timeout=60)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_module_entry_points_import_in_a_clean_interpreter():
    """Every module of crawler imports (as after `pip install .`), in a process of its own."""
    code = ("import importlib, pkgutil, crawler\n"
            "for m in pkgutil.walk_packages(crawler.__path__, 'crawler.'):\n"
            "    if not m.name.endswith('.__main__'):  # runs the command when imported\n"
            "        importlib.import_module(m.name)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
