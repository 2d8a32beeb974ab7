"""``python -m crawler.cli``: the ``newswarc`` command (the scheduler runs its crawls this way)."""

import sys

from crawler.cli.main import main

sys.exit(main())
