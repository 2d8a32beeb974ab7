"""Article extraction: ``extract_article(html, url)``, its options, and the process pool that runs it.

The public functions are re-exported here (``crawler.extract:extract_article`` is what the
scorers in docs/extraction.md call).
"""

from crawler.config.extract import ExtractOptions
from crawler.extract.api import Article, body_text, extract_article, extract_with_reason

__all__ = ["Article", "ExtractOptions", "body_text", "extract_article", "extract_with_reason"]
