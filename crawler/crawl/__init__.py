"""The Scrapy crawl: the generic spider, its middlewares, the article pipeline, WARC capture, the run report."""
