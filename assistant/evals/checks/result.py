"""A check's result and the scorecard of a draft: labels, which checks are gates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ROLE_LABELS = {
    "opening": "开头",
    "background": "基本情况",
    "achievements": "主要成效/履职情况",
    "problems": "存在的问题",
    "causes": "原因分析",
    "measures": "对策建议/下一步打算",
    "requirements": "几点意见",
    "closing": "结尾",
    "other": "其他",
}

METRIC_LABELS = {
    "sections": "必备章节齐全",
    "order": "章节顺序",
    "numbering": "序号连续、层级正确",
    "numbering_style": "序号写法规范",
    "formulas": "开头语、结束语",
    "length": "篇幅",
    "leftovers": "无残留标记",
    "points": "要点覆盖",
    "grounding": "依据范文",
    "citations": "引用准确",
    "numbers": "数字有据",
    "copying": "照抄程度",
    "repetition": "重复",
    "topicality": "内容切题",
    "foreign": "没有他单位内容",
    "facts": "材料事实用到且放对",
    "document_copy": "整篇照抄程度",
    "tifa": "提法规范、无错字",
    "formula_fit": "开头结尾切合场合",
    "voice": "语气合乎文种",
    "sameness": "与其他主题雷同",  # added per run by the eval suite (needs the other cases' drafts)
    "judge": "大模型评审",  # optional, added by the eval suite (evals.judge_draft), never by score_draft
}
GATES = frozenset(
    {
        "sections",
        "order",
        "numbering",
        "numbering_style",
        "formulas",
        "length",
        "leftovers",
        "numbers",
        "copying",
        "topicality",
        "foreign",
        "facts",
        "document_copy",
        "tifa",
        "formula_fit",
        "voice",
    }
)
# the length band is no gate for the offline composer, nor for any draft that leaves 【待补】 gaps: an honest
# draft with gaps is shorter than the band (the length is still reported)
NOT_GATES_FOR_COMPOSER = frozenset({"length"})


@dataclass
class MetricResult:
    name: str
    value: float | None  # 0..1, higher is better; None when the metric does not apply
    passed: bool | None  # None when there is nothing to decide
    reason: str  # Chinese, one line, shown in the checklist
    details: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    gate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scorecard:
    doc_type: str
    results: list[MetricResult]

    def get(self, name: str) -> MetricResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def passed(self) -> bool:
        """True when no gate check failed."""
        return not any(r.gate and r.passed is False for r in self.results)

    def failures(self) -> list[MetricResult]:
        return [r for r in self.results if r.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_type": self.doc_type,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
        }


def _result(name: str, value: float | None, passed: bool | None, reason: str, **details: Any) -> MetricResult:
    if value is not None:
        value = round(max(0.0, min(1.0, float(value))), 4)
    return MetricResult(name, value, passed, reason, details, METRIC_LABELS[name], name in GATES)
