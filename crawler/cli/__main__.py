"""``python -m crawler.cli``: the ``newswarc`` command (the scheduler runs its crawls this way)."""

import sys

from crawler.cli.main import main

if __name__ == "__main__":  # importing the module (as tools that walk the package do) runs nothing
    sys.exit(main())
