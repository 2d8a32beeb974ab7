"""Components a setting switches off: said once at INFO, not as Scrapy's WARNING.

Scrapy logs the message of a ``NotConfigured`` raised in ``from_crawler`` as a WARNING
("Disabled X: ..."), which the CLI shows at its default level. A component that a user's
setting turns off (archiving, extraction, the crawl state, decompression) is a choice, not a
problem: it is logged at INFO under the component's own name, and Scrapy gets a bare
``NotConfigured``, which it drops without a line.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import NotConfigured


def switched_off(component: type, reason: str) -> NotConfigured:
    """The exception for ``raise`` in ``component.from_crawler``, after the INFO line with ``reason``."""
    logging.getLogger(component.__module__).info("%s is off: %s", component.__name__, reason)
    return NotConfigured()
