"""Developer tooling: the seed server, the local stack runner, topic tailing."""
