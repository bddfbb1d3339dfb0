"""Feed documents to entries. Pure: no network, no Kafka, no state.

`model` holds the types every format returns (ParsedFeed, ParsedEntry) and the helpers
the formats share; `dispatch.parse_feed` picks the format; one module per format below
it: `sitemaps`, `jsonfeed`, `fastfeed` (plain RSS 2.0 / Atom 1.0 through lxml) and
`rss` (feedparser, for everything else: RSS, Atom, RDF, CDF). `fullcontent` judges
whether an entry's content is already the whole article.
"""
