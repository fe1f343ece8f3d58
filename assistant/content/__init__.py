"""Shared judgments about text, used alike by ingest, the composer, the model path and the evals.

Each module answers one question about a sentence or a document — is it clean (``hygiene``), is a
formulation right (``tifa``), whose unit and sector does it speak of (``lexicon``), is it about a point
(``topicality``), which of the writer's facts is it (``facts``), what occasion does a request name
(``occasions``), is it addressed to a model (``injection``) — so that the composer uses exactly the
definition the evals check, and no check can be passed by a generator that reads it differently.
"""
