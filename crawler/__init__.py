"""newswarc: news crawler and archiver."""

from __future__ import annotations

import platform
from importlib import metadata

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
