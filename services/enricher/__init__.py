"""The enricher: clean articles in; language, entities, places, keywords, quotes and summary out."""
