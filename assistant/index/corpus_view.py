"""The indexed corpus as whole documents: their texts, titles and own-term lexicon, for the checks that
read a draft against the corpus (document-level copying, foreign context, distinctive words).

Built from the stored document files (never from the source files, which may have moved or changed) and
cached per index generation, so every draft and eval case in a process reuses one view until the next
ingest. A document stored before term lexicons existed gets its terms computed from its stored text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content import lexicon, words
from ..settings import Settings


@dataclass
class CorpusView:
    texts: dict[str, str]  # doc id -> cleaned text
    titles: dict[str, str]
    lexicon: lexicon.Lexicon
    stats: words.WordStats
    generation: int

    def title(self, doc_id: str) -> str:
        return self.titles.get(doc_id, doc_id)


_CACHE: dict[str, CorpusView] = {}
_LOCK = threading.Lock()


def open_view(settings: Settings) -> CorpusView | None:
    """The corpus view of the index under ``settings`` (None when there is no index)."""
    from ..evals.metrics import fixed_numerals
    from .ingest import Manifest, read_document_file

    manifest = Manifest.read(Path(settings.index_dir))
    if manifest is None:
        return None
    key = f"{Path(settings.index_dir).resolve()}:{manifest.generation}"
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        texts: dict[str, str] = {}
        titles: dict[str, str] = {}
        terms: dict[str, tuple[str, dict[str, Any]]] = {}
        for doc_id, entry in manifest.documents.items():
            stored = read_document_file(manifest.index_dir, entry)
            document = stored.get("document") or {}
            text, title = document.get("text", ""), document.get("title", entry.get("title", ""))
            texts[doc_id], titles[doc_id] = text, title
            found = stored.get("terms")
            if not found or found.get("version") != lexicon.TERMS_VERSION:
                found = lexicon.document_terms(title, text)
            terms[doc_id] = (title, found)
        stats = words.reference_stats(texts.values(), key=key)
        lex = lexicon.Lexicon(terms, fixed_numerals(str(settings.prompts_dir)), stats)
        view = CorpusView(texts, titles, lex, stats, manifest.generation)
        _CACHE.clear()
        _CACHE[key] = view
        return view
