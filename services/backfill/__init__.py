"""`newswire backfill`: web archives (WARC, ARC) into newswire.pages, and the fetcher's
optional archive out (rotating WARC files)."""
