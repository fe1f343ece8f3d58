"""Drafting: request -> outline -> retrieval -> section text -> checks -> Draft -> export."""
