"""The optional LLM judge: a fixed rubric scored by the configured model, cached on disk."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..records import DraftRequest
from ..settings import Settings
from . import metrics

# ---------------------------------------------------------------------------------------------- LLM judge
JUDGE_RUBRIC = """你是机关公文写作的评审专家。请按下面四项给这篇{label}打分，每项 1–5 分（5 分最好）：
1. 公文语体：用语规范、庄重、简练，符合{label}的文风，没有口语、网络用语或不当表述；
2. 逻辑层次：结构完整，层次清楚，标题与序号使用得当，前后连贯；
3. 内容充实：言之有物，有具体做法、措施和事实，不空泛、不重复；
4. 贴合要求：紧扣主题和场合，覆盖给定要点，单位、身份、口吻一致。
只输出一个 JSON 对象，不要输出其他文字，格式为：
{{"公文语体": 分数, "逻辑层次": 分数, "内容充实": 分数, "贴合要求": 分数, "理由": "一句话"}}"""
JUDGE_CRITERIA = ("公文语体", "逻辑层次", "内容充实", "贴合要求")
JUDGE_PASS = 0.6  # mean score / 5 needed to pass when the judge gates


def _judge_user(text: str, request: DraftRequest | None) -> str:
    parts = []
    if request is not None:
        parts.append(f"主题：{request.topic}")
        if request.unit:
            parts.append(f"单位/身份：{request.unit}")
        if request.occasion:
            parts.append(f"场合：{request.occasion}")
        if request.points:
            parts.append("要点：" + "；".join(request.points))
    return "【起草要求】\n" + "\n".join(parts) + "\n\n【文稿】\n" + text


def _parse_judgement(reply: str) -> dict[str, Any]:
    match = re.search(r"\{.*\}", reply, flags=re.DOTALL)
    if not match:
        raise ValueError("no JSON object")
    data = json.loads(match.group(0))
    scores = {k: float(data[k]) for k in JUDGE_CRITERIA}
    if not all(1 <= v <= 5 for v in scores.values()):
        raise ValueError("score out of range")
    return {"scores": scores, "reason": str(data.get("理由", ""))}


def judge_draft(
    text: str,
    doc_label: str,
    request: DraftRequest | None,
    settings: Settings,
    gate: bool = False,
) -> dict[str, Any]:
    """Score a draft with the fixed rubric through ``llm.LLMClient`` (temperature 0), cached on disk by the
    hash of rubric, model and input. Returns a metric dict like the others; it gates only when ``gate``."""
    from ..errors import BackendError
    from ..llm import LLMClient

    system = JUDGE_RUBRIC.format(label=doc_label)
    user = _judge_user(text, request)
    key = hashlib.sha256(
        "\n".join([system, settings.llm_base_url, settings.llm_model, user]).encode()
    ).hexdigest()
    cache = Path(settings.evals_dir) / "judge-cache" / f"{key[:32]}.json"
    result: dict[str, Any] | None = None
    if cache.is_file():
        try:
            result = json.loads(cache.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            result = None
    if result is None:
        client = LLMClient(settings.with_overrides(llm_temperature=0.0))
        try:
            reply = "".join(client.stream(system, user))
            result = _parse_judgement(reply)
        except BackendError as exc:
            return _judge_metric(None, f"大模型评审失败：{exc}", {}, gate)
        except (ValueError, KeyError, TypeError) as exc:
            return _judge_metric(None, f"大模型评审的回复无法解析（{exc}）", {"reply": reply[:300]}, gate)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    scores = result["scores"]
    value = sum(scores.values()) / (5 * len(scores))
    shown = "，".join(f"{k}{v:g}" for k, v in scores.items())
    return _judge_metric(value, f"{shown}（满分5）。{result.get('reason', '')}", {"scores": scores}, gate)


def _judge_metric(value: float | None, reason: str, details: dict[str, Any], gate: bool) -> dict[str, Any]:
    passed = None if value is None or not gate else value >= JUDGE_PASS
    if value is None and gate:
        passed = False
    return {
        "name": "judge",
        "value": None if value is None else round(value, 4),
        "passed": passed,
        "reason": reason,
        "details": details,
        "label": metrics.METRIC_LABELS["judge"],
        "gate": gate,
    }
