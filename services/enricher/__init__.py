"""The enricher: clean articles in, articles with language, stats and summary out."""
