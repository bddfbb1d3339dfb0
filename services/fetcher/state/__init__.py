"""What the fetcher keeps: each feed's polling state (`feedstate`), when each owned feed
is next due (`schedule`) and the feed list (`registry`)."""
