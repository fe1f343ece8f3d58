"""Retrieval for a section, and the numbered list of sources a draft cites.

Per section the corpus is searched for the section's role in the same type first, then the same role in
other types (a small corpus runs out of same-type passages long before a section is full), then kin roles
(a speech's 要求 and a report's 措施 read alike), then anything close. Every passage a generator draws on is
numbered once, in order of first use, and keeps its number when a section is rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..records import DraftRequest, OutlineItem, Passage, Source

# roles close enough to fill each other's bodies (a speech's 要求 and a report's 措施 read alike)
KIN_ROLES = {"requirements": ("measures",), "measures": ("requirements",)}


@dataclass
class SourceBook:
    """Numbers the passages a draft cites, in order of first use; numbers stay stable when a section is
    regenerated."""

    sources: list[Source] = field(default_factory=list)

    def cite(self, passage: Passage) -> int:
        for source in self.sources:
            if source.chunk_id == passage.chunk.chunk_id:
                return source.number
        chunk = passage.chunk
        number = len(self.sources) + 1
        self.sources.append(
            Source(
                number, chunk.chunk_id, chunk.doc_id, chunk.title, chunk.heading_path, chunk.role, chunk.text
            )
        )
        return number


def open_retriever(settings: Any) -> Any:
    from ..index.retrieval import Retriever

    return Retriever.open(settings)


def merge(*lists: list[Passage], limit: int) -> list[Passage]:
    seen: set[str] = set()
    out: list[Passage] = []
    for passages in lists:
        for passage in passages:
            if passage.chunk.chunk_id not in seen:
                seen.add(passage.chunk.chunk_id)
                out.append(passage)
    return out[:limit]


def retrieve(retriever: Any, query: str, doc_type: str, role: str, k: int = 6) -> list[Passage]:
    """Same type and role first, then the same role in other types, kin roles, then anything close."""
    same = retriever.search(query, doc_type=doc_type, role=role, k=k)
    other = retriever.search(query, role=role, k=k)
    kin = [p for r in KIN_ROLES.get(role, ()) for p in retriever.search(query, role=r, k=k // 2)]
    loose = retriever.search(query, k=k // 2) if len(same) + len(other) < k // 2 else []
    return merge(same, other, kin, loose, limit=k * 2)


def section_passages(
    retriever: Any, request: DraftRequest, doc_type: str, item: OutlineItem
) -> tuple[list[Passage], dict[str, list[Passage]]]:
    """Passages for the section as a whole, and per key point."""
    passages = retrieve(retriever, f"{request.topic} {item.heading}", doc_type, item.role)
    per_point = {
        point: retrieve(retriever, f"{point} {request.topic}", doc_type, item.role, k=4)
        for point in item.points
    }
    return passages, per_point
