"""The cleaner: raw pages in, clean article text and metadata out."""
