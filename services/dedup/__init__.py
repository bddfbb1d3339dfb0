"""Dedup: give every article a verdict (new / duplicate) and a story id, exactly once."""
