"""The fetcher: polls feeds, emits new entries, fetches their article pages."""
