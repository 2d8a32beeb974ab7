"""The Demo Gazette: a generated news site (with its ground truth) and a local server for it.

``DemoServer`` is imported lazily so that ``python -m crawler.demo.server`` runs cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.demo.site import DemoArticle, DemoResponse, DemoSite, build_site

if TYPE_CHECKING:
    from crawler.demo.server import DemoServer

__all__ = ["DemoArticle", "DemoResponse", "DemoServer", "DemoSite", "build_site"]


def __getattr__(name: str) -> Any:
    if name == "DemoServer":
        from crawler.demo.server import DemoServer  # lazily: `python -m crawler.demo.server` runs cleanly

        return DemoServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
