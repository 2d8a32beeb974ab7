"""Scrapy project settings for newswarc (``scrapy.cfg`` points here).

Scrapy's own settings keep Scrapy's defaults unless named here. newswarc's settings are
``NEWSWARC_<AREA>_<THING>``, all defined below in alphabetical groups with the enabling
flag first; ``docs/settings.md`` documents each one.
"""


from scrapy.settings import default_settings as _scrapy_defaults

from crawler import __version__

# tldextract's bundled Public Suffix List (no download): set in crawler/__init__.py, which this import runs.

BOT_NAME = "newswarc"
SPIDER_MODULES = ["crawler.crawl.spider"]
NEWSPIDER_MODULE = "crawler.crawl.spider"

# Politeness (the default profile repeats these so that users see them).
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS_PER_DOMAIN = 4
USER_AGENT = f"newswarc/{__version__} (news archiver; +https://example.org/newswarc; contact: archive-operator@example.org)"

# Ask only for content encodings the replay side (warcio, pywb) can decode (no zstd); the
# DecodingMiddleware drops br when no brotli decoder with an output limit is installed.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate, br",
}

# Size limits are enforced by the archive (it keeps and flags the truncated body).
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
# A body cut off (connection reset, bad chunking) is handed over, archived with WARC-Truncated:
# disconnect and counted, instead of being dropped unarchived.
DOWNLOAD_FAIL_ON_DATALOSS = False
REDIRECT_MAX_TIMES = 10
RETRY_TIMES = 2
# A host that does not resolve is not retried like a timeout (the answer would be the same, after
# another resolver timeout each time): Scrapy's list without CannotResolveHostError.
RETRY_EXCEPTIONS = [e for e in _scrapy_defaults.RETRY_EXCEPTIONS if e != "scrapy.exceptions.CannotResolveHostError"]
# Nothing listens unless a profile turns it on ([scrapy] REMOTE_CONTROL_ENABLED = true): Scrapy's
# RemoteControl (2.19+) is an HTTP server that runs the code sent to it, the telnet console a shell.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Scrapy starts this many tasks per response to process its output; our callbacks yield a few
# requests and at most one item, and 100 (the default) was the crawl process's largest cost.
CONCURRENT_ITEMS = 16
# Scrapy's duplicate filter keeping 8 bytes per request instead of a 20-byte string in a set
# (crawler.crawl.dupefilter); a distributed worker's scheduler has its own, on Redis.
DUPEFILTER_CLASS = "crawler.crawl.dupefilter.CompactDupeFilter"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

EXTENSIONS = {
    "crawler.crawl.capture.WarcCapture": 500,
    "crawler.crawl.report.RunReport": 510,
}
SPIDER_MIDDLEWARES = {
    # next to the spider: sees every link the spider yields, for the page's WARC metadata record
    "crawler.crawl.outlinks.OutlinkRecorder": 950,
}
# The private-address guard (crawler.crawl.addressguard): after DNS, in the resolver, and for IP literals.
TWISTED_DNS_RESOLVER = "crawler.crawl.addressguard.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    # before RobotsTxt (100): a redirect to an article archived before is not fetched at all
    "crawler.crawl.middlewares.IncrementalRedirectMiddleware": 90,
    # beside Scrapy's DownloaderStats (850): requests by route that add up to downloader/request_count
    "crawler.crawl.middlewares.RouteStats": 851,
    # last: answers from a WARC archive instead of the network (replay --crawl); every other
    # middleware's process_response still sees its responses. Off unless NEWSWARC_REPLAY_SOURCES is set.
    "crawler.replay.network.ArchiveDownloaderMiddleware": 950,
    # Scrapy's decompression with a limit on decoded bytes (DOWNLOAD_MAXSIZE is 0, see above)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.crawl.middlewares.DecodingMiddleware": 590,
    # past RetryMiddleware (550): a refused address is not retried nor logged as an error
    "crawler.crawl.addressguard.AddressGuardMiddleware": 560,
}
ITEM_PIPELINES = {
    "crawler.crawl.pipeline.ArticlePipeline": 300,
}

# --- archive: WARC capture of every network exchange
NEWSWARC_ARCHIVE_ENABLED = True
NEWSWARC_ARCHIVE_GZIP_LEVEL = 6
NEWSWARC_ARCHIVE_RECOMPRESS = False  # True: deflate already-compressed payloads at the gzip level too
NEWSWARC_ARCHIVE_MAX_BODY = 50 * 1024 * 1024
NEWSWARC_ARCHIVE_MAX_DECODED = 50 * 1024 * 1024  # a body decoding past this is archived, not parsed
NEWSWARC_ARCHIVE_MAX_SIZE = 1_000_000_000
NEWSWARC_ARCHIVE_PREFIX = "newswarc"
NEWSWARC_ARCHIVE_QUEUE_SIZE = 500
NEWSWARC_ARCHIVE_REVISITS = True
NEWSWARC_ARCHIVE_WACZ = False  # write wacz/RUN_ID-SEED.wacz of each run as it ends (crawler/crawl/wacz_export.py)
NEWSWARC_ARCHIVE_WACZ_TEXT = False  # ... with each article's text in pages.jsonl (full-text search)

# --- crawl: limits applied to every seed (a seed's own max_pages wins, but not over the command line)
NEWSWARC_CRAWL_ALLOW_NETWORKS = []  # private/loopback networks the crawl may reach besides the seeds' own
NEWSWARC_CRAWL_MAX_PAGES = None

# --- distributed: workers sharing a frontier on Redis (newswarc worker/enqueue/status, docs/distributed.md)
NEWSWARC_DISTRIBUTED = False
NEWSWARC_DISTRIBUTED_IDLE_SECONDS = 10.0  # worker --until-idle: the fleet idle this long, then exit
NEWSWARC_DISTRIBUTED_LEASE_POLL = 0.05  # seconds between tries for a busy domain's lease
NEWSWARC_DISTRIBUTED_POLL = 0.25  # heartbeat: acknowledge done requests, wake an idle engine
NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT = 30.0  # a worker silent this long is dead: its requests go back
NEWSWARC_REDIS_PREFIX = "newswarc"
NEWSWARC_REDIS_TIMEOUT = 5.0
NEWSWARC_REDIS_URL = "redis://127.0.0.1:6379/0"  # the environment's NEWSWARC_REDIS_URL wins

# --- extract: trafilatura in a process pool
NEWSWARC_EXTRACT_ENABLED = True
NEWSWARC_EXTRACT_TIMEOUT = 60
NEWSWARC_EXTRACT_WORKERS = 0

# --- output: where warc/, text/, articles/, runs/ go (a directory or s3://bucket/prefix)
NEWSWARC_OUTPUT_URI = "archive"
NEWSWARC_OUTPUT_JSONL_STDOUT = False
NEWSWARC_OUTPUT_TEXT_FILES = True  # False: JSONL only, `text_path` null (replay --crawl --jsonl without --out)

# --- replay: crawl a WARC archive instead of the network (WARC/WACZ files, directories, globs, s3://)
NEWSWARC_REPLAY_SOURCES = []

# --- s3: options of the S3 backend (credentials come from boto3's chain)
NEWSWARC_S3_CONNECT_TIMEOUT = 5.0
NEWSWARC_S3_ENDPOINT_URL = None
NEWSWARC_S3_MAX_ATTEMPTS = 5  # botocore attempts per request ("standard" retry mode)
NEWSWARC_S3_MULTIPART_CHUNKSIZE = 16 * 1024 * 1024
NEWSWARC_S3_MULTIPART_THRESHOLD = 64 * 1024 * 1024
NEWSWARC_S3_PROFILE = None
NEWSWARC_S3_READ_TIMEOUT = 10.0
NEWSWARC_S3_REGION = None
NEWSWARC_S3_RETRY_BACKOFF = 2.0  # seconds before the 2nd whole-upload attempt, doubled after
NEWSWARC_S3_SSE = None
NEWSWARC_S3_SSE_KMS_KEY_ID = None
NEWSWARC_S3_STORAGE_CLASS = None
NEWSWARC_S3_UPLOAD_ATTEMPTS = 3  # whole-upload attempts (connection errors, bad checksums)
NEWSWARC_S3_UPLOAD_WORKERS = 8

# --- spool: local working copy of output bound for remote storage
NEWSWARC_SPOOL_DIR = None

# --- state: crawl state store for incremental runs
NEWSWARC_STATE_ENABLED = True
NEWSWARC_STATE_PATH = None

# --- near-duplicates (crawler.dataset.neardup): syndicated copies grouped; needs the state
NEWSWARC_NEAR_DUPLICATES_ENABLED = True
NEWSWARC_NEAR_DUPLICATE_THRESHOLD = 0.7  # estimated Jaccard similarity of word 3-gram sets
NEWSWARC_STATE_CLASS = None  # another state backend (distributed: crawler.distributed.state.RedisCrawlState)
