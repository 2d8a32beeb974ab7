"""newswarc: news crawler and archiver."""

from __future__ import annotations

import os
import platform
from importlib import metadata

# tldextract (Scrapy's cookie middleware, surt) downloads the Public Suffix List on first use unless
# told not to (offline: a timeout and two warnings); its bundled snapshot is used instead. Here, where
# every process (the CLI, `scrapy crawl`, pool workers, library use) starts, before tldextract is
# imported; a TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS the user sets wins.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (tool.setuptools.dynamic)

# The libraries whose versions shape what is archived and extracted: `newswarc --version`, the
# run report and every warcinfo record name them from this one list.
SOFTWARE = ("scrapy", "twisted", "trafilatura", "warcio", "lxml", "boto3")


def software_versions() -> dict[str, str]:
    """newswarc's version and those of the libraries it runs on, read from installed metadata."""
    versions = {"newswarc": __version__}
    for dist in SOFTWARE:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "missing"
    versions["python"] = platform.python_version()
    return versions
