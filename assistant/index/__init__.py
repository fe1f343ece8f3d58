"""Indexing: loading, parsing, chunking, embedding, storing and searching the corpus."""
