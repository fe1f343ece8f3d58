"""公文写作助手: a drafting assistant for Chinese official documents, grounded in the writer's corpus."""

__version__ = "0.1.0"
