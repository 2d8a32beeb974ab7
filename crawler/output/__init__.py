"""Output: article ids, text files and JSONL rows through storage, deduplication."""
