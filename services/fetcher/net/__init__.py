"""The fetcher on the network: the HTTP client and its caching rules, the SSRF guard,
robots.txt, per-host politeness and per-host lanes. No Kafka."""
