"""Language checks: wrong formulations (提法), dated campaigns and copied typos (``content.tifa``),
formulas that do not fit the occasion or read badly around the topic (``content.occasions``), and sentences
in another's voice (a 述职报告 giving orders: ``DocType.others_voice``)."""

from __future__ import annotations

from pathlib import Path

from ...content import occasions, tifa
from ...doctypes import DocType
from ...records import DraftRequest
from .body import Body
from .result import MetricResult, _result
from .text import _Text


def check_tifa(text: _Text, year: int | None, path: Path | None = None) -> MetricResult:
    whole = "\n".join(text.front + text.body)
    hits = tifa.find(whole, year, path)
    if not hits:
        return _result("tifa", 1.0, True, "没有发现错误提法、过时表述或错字", hits=[])
    reason = f"{len(hits)} 处提法或文字有误：" + "；".join(h.label for h in hits[:3])
    return _result("tifa", max(0.0, 1 - len(hits) / 5), False, reason, hits=[h.to_dict() for h in hits])


def check_formula_fit(
    text: _Text, request: DraftRequest | None, occasion_class: str, path: Path | None = None
) -> MetricResult:
    """The opening fits the occasion class; the topic reads grammatically in every formula."""
    whole = "\n".join(text.front + text.body)
    problems = [f"语句不通：“{m}”" for m in occasions.grammar_misfits(whole, path)]
    opening = "\n".join(text.body[:3])
    misfits = occasions.opening_misfits(opening, occasion_class, path) if occasion_class else []
    cls = occasions.load(path).get(occasion_class)
    problems += [f"开头不合{cls.label if cls else occasion_class}场合：“{m}”" for m in misfits]
    if problems:
        return _result(
            "formula_fit", max(0.0, 1 - len(problems) / 4), False, "；".join(problems[:3]), problems=problems
        )
    shown = f"（{cls.label}）" if cls else ""
    return _result("formula_fit", 1.0, True, f"开头结尾与场合相符{shown}，套语读得通", problems=[])


def check_voice(body: Body, doctype: DocType) -> MetricResult:
    """No sentence in another's voice: a report upward (述职, 汇报, 总结) states what the writer did and will
    do; 要……, 各级党组织要…… are a leader's orders from another document. The writer's own facts, points
    and marked gaps are theirs to word."""
    if not doctype.others_voice:
        return _result("voice", None, None, f"{doctype.label}不限定语气")
    judged = [s for s in body.sentences if s.exempt not in ("fact", "gap", "point")]
    found = [s.text for s in judged if doctype.in_others_voice(s.text)]
    if not found:
        return _result("voice", 1.0, True, f"没有向他人提要求的句子（{doctype.label}是向上报告）", found=[])
    reason = f"{len(found)} 句是向他人提要求的口吻，不合{doctype.label}：“{found[0][:30]}…”"
    return _result("voice", max(0.0, 1 - len(found) / max(1, len(judged))), False, reason, found=found)
