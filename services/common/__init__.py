"""Code every Newswire service shares: settings, models, topics, Kafka, metrics, errors."""
