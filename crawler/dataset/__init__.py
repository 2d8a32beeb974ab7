"""For dataset builders: Parquet/JSONL export, near-duplicate groups, per-publisher quality reports.

- :mod:`crawler.dataset.schema`: the one schema of an exported article (fields and provenance).
- :mod:`crawler.dataset.export`: ``newswarc export``, archive JSONL → partitioned Parquet or JSONL.
- :mod:`crawler.dataset.neardup`: MinHash/LSH near-duplicate groups kept in the crawl state.
- :mod:`crawler.dataset.quality`: the per-site quality table of a run and the comparison of runs.
- :mod:`crawler.dataset.html_report`: ``newswarc report --html``, one small inline SVG chart per site.

Their sub-commands (``export``, ``report``) are in :mod:`crawler.cli.dataset`.
"""

import os

# Arrow's memory from the system allocator, set here before any module of the package imports
# pyarrow (the user's ARROW_DEFAULT_MEMORY_POOL wins): pyarrow's default pool, mimalloc, keeps
# the memory it once held; it was a sixth of the peak RSS of a 20,000-article `newswarc export`
# (bench/bench_export.py: 143 MiB with mimalloc, 120 MiB with the system pool).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
