"""What a generator is given to write one section: the request, the whole outline, the section, what was
written before it, the passages retrieved for it and its share of the length.

Both generators (the offline composer and the model path) take the same ``SectionContext``, so a section's
text can come from either and the pipeline can fall back from one to the other section by section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..doctypes import DocType, SectionSpec
from ..records import DraftRequest, DraftSection, Fact, Outline, OutlineItem, Passage
from .sources import merge

EventFn = Callable[[str, dict[str, Any]], None]


def noop(kind: str, payload: dict[str, Any]) -> None:
    return None


@dataclass
class SectionContext:
    request: DraftRequest
    doctype: DocType  # as the outline's skeleton shapes it
    outline: Outline
    item: OutlineItem
    spec: SectionSpec
    next_number: int  # the next level-1 number (一、二、…) in the draft
    budget: int  # characters this section may take
    passages: list[Passage] = field(default_factory=list)  # retrieved for the section
    per_point: dict[str, list[Passage]] = field(default_factory=dict)  # retrieved per key point
    written: list[DraftSection] = field(default_factory=list)  # the sections before this one
    values: dict[str, Any] = field(default_factory=dict)  # formula values (request.template_values)
    emit: EventFn = noop

    @property
    def facts(self) -> list[Fact]:
        """The writer's facts the outline placed in this section, in outline order."""
        wanted = set(self.item.facts)
        return [f for f in self.outline.facts if f.id in wanted]

    def pool(self, limit: int = 99) -> list[Passage]:
        """The section's passages and its points' passages, without repeats."""
        return merge(self.passages, *self.per_point.values(), limit=limit)


def spec_for(doctype: DocType, item: OutlineItem) -> SectionSpec:
    """The schema's spec for an outline item; an item the writer added in the outline editor (a key the
    schema does not know) gets a spec from the item itself."""
    try:
        spec = doctype.section(item.key)
    except KeyError:
        numbering = {"headings": "subheadings", "items": "items"}.get(item.numbering, "none")
        return SectionSpec(
            key=item.key,
            role=item.role,
            heading=item.heading,
            form=item.form or ("topics" if item.numbering == "topics" else "heading"),
            numbering=numbering,
            required=False,
            needs=item.note,
        )
    if item.form and item.form != spec.form:
        from dataclasses import replace

        spec = replace(spec, form=item.form)
    return spec
