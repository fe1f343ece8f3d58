"""Streaming a draft into the page: run the pipeline in a worker thread and turn its ``on_event`` calls into
what the page shows while sections arrive.

No Gradio here, so it is testable on its own. A thread plus a queue (rather than making the pipeline a
generator) keeps ``drafting`` free of any UI concern: it just calls ``on_event``; the UI's generator drains
the queue and yields page updates.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..records import Draft, Outline

_NUMBER_RE = re.compile(r"^[一二三四五六七八九十]+、")

# what the sources panel keeps of a retrieved passage (the text is fetched on click, not stored per draft)
PASSAGE_KEYS = ("chunk_id", "doc_id", "title", "heading_path", "role")


def retrieved_entry(passage: dict[str, Any]) -> dict[str, Any]:
    """The part of a ``section_done`` passage (``Passage.to_dict()``) the sources panel needs."""
    return {k: passage.get(k, "") for k in PASSAGE_KEYS}


@dataclass
class StreamView:
    """What the page shows while a draft streams in, and every passage retrieved per section (cited or not:
    ``section_done`` carries them) for the sources panel."""

    title: str = ""
    order: list[str] = field(default_factory=list)
    text: dict[str, str] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)  # a section's heading until its text brings its own
    warnings: list[str] = field(default_factory=list)
    passages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def apply(self, kind: str, payload: Any) -> None:
        data = (
            payload.to_dict()
            if isinstance(payload, Outline)
            else (payload if isinstance(payload, dict) else {})
        )
        key = str(data.get("key", ""))
        if kind == "outline":
            self.title = str(data.get("title") or self.title)
        elif kind == "section_start":
            if key not in self.text:
                self.order.append(key)
            self.heads[key] = str(data.get("heading") or "")
            self.text[key] = ""
        elif kind == "section_delta":
            if key not in self.text:
                self.order.append(key)
                self.text[key] = ""
            self.text[key] += str(data.get("text", ""))
        elif kind == "section_done":
            if key not in self.text:
                self.order.append(key)
            self.text[key] = str(data.get("text", self.text.get(key, "")))
            if isinstance(data.get("passages"), list):  # a regenerated section replaces its own list
                self.passages[key] = [
                    retrieved_entry(p) for p in data["passages"] if isinstance(p, dict) and p.get("chunk_id")
                ]
        elif kind == "warning":
            message = data.get("text") or data.get("message")
            if message:
                self.warnings.append(str(message))

    def lines(self, key: str) -> list[str]:
        """A section's lines as they stand: its announced heading first until the text arrives with its own
        numbered heading (``一、履职情况`` replaces ``履职情况``; never both)."""
        lines = [line.strip() for line in self.text.get(key, "").splitlines() if line.strip()]
        head = self.heads.get(key, "")
        if head and lines:
            core = _NUMBER_RE.sub("", lines[0])
            if lines[0].endswith(head) or (core != lines[0] and head.startswith(core)):
                return lines
        return ([head] if head else []) + lines

    def retrieved(self) -> dict[str, list[dict[str, Any]]]:
        """Retrieved passages per section key, in section order."""
        keys = [k for k in self.order if k in self.passages]
        keys += [k for k in self.passages if k not in keys]
        return {k: self.passages[k] for k in keys}

    def markdown(self) -> str:
        paragraphs = [line for k in self.order for line in self.lines(k)]
        head = f"### {self.title}\n\n" if self.title else ""
        return head + "\n\n".join(paragraphs) + "\n\n*（正在生成…）*"


def stream_pipeline(run: Callable[[Callable[[str, Any], None]], Draft]) -> Iterator[tuple[str, Any]]:
    """Run ``run(on_event)`` in a worker thread and yield its events; the generator's return value is the
    Draft (use ``draft = yield from stream_pipeline(...)``). Errors are re-raised in the caller."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["draft"] = run(lambda kind, payload: events.put((kind, payload)))
        except BaseException as exc:  # re-raised below, in the handler's thread
            result["error"] = exc
        finally:
            events.put(("_end", None))

    worker = threading.Thread(target=target, daemon=True, name="draft-worker")
    worker.start()
    while True:
        kind, payload = events.get()
        if kind == "_end":
            break
        yield kind, payload
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["draft"]
