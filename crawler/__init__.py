"""newswarc: news crawler and archiver."""

import os

__version__ = "0.1.0"

# tldextract (Scrapy's cookie middleware, surt) fetches the Public Suffix List from the internet on
# first use unless told not to; its bundled snapshot is used instead (set the variable to a URL
# list to fetch a fresh one).
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
