"""The model path: sections written by an OpenAI-compatible model, guarded and parsed into draft paragraphs.

The prompt fences corpus text and materials so that text inside cannot close its block or forge another;
the reply is split into lines, its Markdown and numbering removed (the draft numbers everything itself) and
every sentence passes the same faithfulness guard as the composer's. A section the model fails on falls
back to the composer alone (``pipeline``).
"""

from __future__ import annotations

import re
from typing import Any

from .. import numerals
from ..errors import BackendError
from ..prompts import get_prompt, render
from ..records import DraftParagraph, Passage
from .adapt import Adapter
from .composer import _HEADING_RE, split_sentences, strip_end
from .context import SectionContext
from .sources import SourceBook

REFERENCE_TOKENS = 1800  # budget for reference passages in one LLM section prompt
_MARK_RE = re.compile(r"\s*\[(\d{1,3})\]")
_ITEM_MARK_RE = re.compile(r"(^|[。；;：:！])\s*[一二三四五六七八九十]+是")
_ROLE_LABELS = {
    "background": "介绍基本情况和背景",
    "achievements": "总结主要做法和成效",
    "problems": "查摆存在的问题",
    "causes": "分析问题产生的原因",
    "measures": "提出下一步措施或对策建议",
    "requirements": "对下一步工作提出要求",
    "closing": "收尾",
    "opening": "开头",
    "other": "其他内容",
}


# The prompt fences corpus text and materials as <<<范文[n] … 范文[n]>>> (and <<<材料n … 材料n>>>). Text
# inside a fence must not be able to close it or open another: runs of angle brackets (ASCII, full-width,
# guillemets) become one full-width bracket, and a reference label (范文[3]) becomes 范文（3）, so a fence
# cannot be forged. 《》 book-title marks are single characters and are left alone.
_FENCE_OPEN_RE = re.compile(r"[<＜‹«〈]{2,}")
_FENCE_CLOSE_RE = re.compile(r"[>＞›»〉]{2,}")
_FENCE_LABEL_RE = re.compile(r"(范文)\s*[\[［]\s*(\d+)\s*[\]］]")


def fence_safe(text: str) -> str:
    """``text`` with anything that looks like a prompt fence (``<<<``, ``>>>``, ``范文[n]``)
    neutralised, so corpus or material text cannot end its block early or forge another."""
    text = _FENCE_OPEN_RE.sub("＜", text or "")
    text = _FENCE_CLOSE_RE.sub("＞", text)
    return _FENCE_LABEL_RE.sub(lambda m: f"{m.group(1)}（{m.group(2)}）", text)


def _reference_block(passages: list[Passage]) -> list[dict[str, Any]]:
    from ..tokens import count_tokens

    refs, used = [], 0
    for n, passage in enumerate(passages, 1):
        cost = count_tokens(passage.chunk.text)
        if refs and used + cost > REFERENCE_TOKENS:
            break
        used += cost
        c = passage.chunk
        refs.append(
            {
                "number": n,
                "title": fence_safe(c.title),
                "heading_path": fence_safe(c.heading_path),
                "text": fence_safe(c.text),
                "passage": passage,
            }
        )
    return refs


def _renumber_items(text: str) -> str:
    counter = iter(range(1, 100))
    return _ITEM_MARK_RE.sub(lambda m: m.group(1) + numerals.item_marker(next(counter)), text)


def _split_generated(text: str) -> list[tuple[str, list[int]]]:
    """Lines of a model's reply with their [n] marks taken off; Markdown markers and numbering removed."""
    out = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("#>-* ").replace("**", "").strip()
        if not line:
            continue
        marks = [int(m) for m in _MARK_RE.findall(line)]
        line = _MARK_RE.sub("", line).strip()
        line = _HEADING_RE.sub("", line)
        line = re.sub(r"^[一二三四五六七八九十]+是", "", line).strip()
        if line:
            out.append((line, marks))
    return out


class LLMSectionWriter:
    """Writes one section at a time with the configured model (see the module docstring)."""

    def __init__(self, settings: Any, adapter: Adapter):
        from ..llm import LLMClient

        self.client = LLMClient(settings)
        self.settings = settings
        self.adapter = adapter
        self.system = get_prompt(settings.prompts_dir, "system")
        self.section = get_prompt(settings.prompts_dir, "section")
        self.changed = 0

    def refs(self) -> list[dict[str, Any]]:
        return [self.system.ref(), self.section.ref()]

    def guard(self, text: str) -> str:
        """The faithfulness guard (``adapt``) on generated text, sentence by sentence."""
        guarded, changed = self.adapter.guard(split_sentences(text))
        self.changed += changed
        return guarded

    def write(self, ctx: SectionContext, book: SourceBook) -> tuple[list[DraftParagraph], int]:
        item, spec, budget, next_number, emit = ctx.item, ctx.spec, ctx.budget, ctx.next_number, ctx.emit
        passages = ctx.pool(12)
        refs = _reference_block(passages)
        label = ctx.doctype.label
        request = ctx.request
        user = render(
            self.section,
            doc_label=label,
            title=ctx.outline.title,
            topic=request.topic,
            unit=request.unit,
            occasion=request.occasion,
            audience=request.audience,
            heading=item.heading,
            role=_ROLE_LABELS.get(item.role, item.role),
            form=spec.form,
            numbering=spec.numbering,
            points=item.points,
            materials=[fence_safe(m) for m in request.materials],
            references=[{k: v for k, v in r.items() if k != "passage"} for r in refs],
            target_chars=budget,
        )
        system = render(self.system, doc_label=label)
        pieces: list[str] = []
        for delta in self.client.stream(system, user):
            pieces.append(delta)
            emit("section_delta", {"key": item.key, "text": delta})
        lines = _split_generated("".join(pieces))
        if not lines:
            raise BackendError("大模型服务返回的内容为空或无法使用")

        def cite(marks: list[int]) -> list[int]:
            return sorted({book.cite(refs[m - 1]["passage"]) for m in marks if 1 <= m <= len(refs)})

        paragraphs: list[DraftParagraph] = []
        used = 0
        if spec.form == "heading":
            paragraphs.append(
                DraftParagraph(numerals.level_marker(1, next_number) + item.heading, "heading", 1)
            )
            used = 1
        if spec.form == "points":
            for line, marks in lines:
                if len(line) <= 40 and line[-1] not in "。！；":
                    paragraphs.append(
                        DraftParagraph(
                            numerals.level_marker(1, next_number + used) + strip_end(line), "heading", 1
                        )
                    )
                    used += 1
                else:
                    paragraphs.append(
                        DraftParagraph(_renumber_items(self.guard(line)), "body", 0, cite(marks))
                    )
        elif spec.form == "paragraph":
            text = _renumber_items(self.guard("".join(line for line, _ in lines)))
            paragraphs.append(DraftParagraph(text, "body", 0, cite([m for _, ms in lines for m in ms])))
        else:
            n = 0
            for line, marks in lines:
                body = self.guard(line)
                if not body:
                    continue
                if spec.numbering == "subheadings" and spec.form == "heading":
                    n += 1
                    paragraphs.append(
                        DraftParagraph(numerals.level_marker(2, n) + body, "heading", 2, cite(marks))
                    )
                elif spec.numbering == "items" and spec.form == "heading":
                    n += 1
                    paragraphs.append(DraftParagraph(numerals.item_marker(n) + body, "body", 0, cite(marks)))
                else:
                    paragraphs.append(DraftParagraph(_renumber_items(body), "body", 0, cite(marks)))
        if not any(p.kind == "body" or p.level == 2 for p in paragraphs):
            raise BackendError("大模型服务返回的内容为空或无法使用")
        return paragraphs, used
