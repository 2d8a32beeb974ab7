"""Preloaded by the extraction pool's fork server: warm the extractor once, before any fork.

Every worker is forked from the fork server, so each starts with the language model loaded and
the lazy imports done instead of paying about a second of CPU to warm up; that second counted
on every worker start and on every replacement of a retired worker. ``gc.freeze()`` keeps the
collector from touching (and so copying) the inherited objects: the workers share them.
"""

import gc

from crawler.extract.api import warm_up

warm_up()
gc.freeze()
