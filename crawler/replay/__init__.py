"""Replay: WARC archives back into the same extraction and outputs as a crawl."""
