"""CLI: ``llm check`` — one short real round trip with the configured model, and what came back.

For a writer who has an endpoint (DeepSeek, Qwen, Ollama, vLLM, llama.cpp): the model's name, how long the
first text and the whole answer took, whether it sent reasoning blocks, Markdown or commentary, and whether
it honoured the draft's markers (a section) and JSON (an outline). The prompts are the pipeline's own, on a
tiny request, so what this reports is what drafting will meet.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..errors import InputError
from ..settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..cli import add_common

    parser = subparsers.add_parser("llm", help="大模型服务：llm check 做一次真实的往返检查")
    add_common(parser)
    parser.add_argument("action", choices=["check"], help="check：用起草时的真实提示词试一次")
    parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    parser.set_defaults(func=run)


def _timed(client: Any, system: str, user: str, max_tokens: int) -> tuple[str, float, float]:
    started = time.monotonic()
    first = 0.0
    pieces = []
    for piece in client.stream(system, user, max_tokens=max_tokens):
        if not pieces:
            first = time.monotonic() - started
        pieces.append(piece)
    return "".join(pieces), first, time.monotonic() - started


def check(settings: Settings) -> dict[str, Any]:
    """Run the two calls and describe them (``BackendError`` when the endpoint fails)."""
    from ..draft import llm_outline, llm_reply
    from ..draft.context import SectionContext, spec_for
    from ..draft.llm_writer import LLMSectionWriter
    from ..draft.outline import make_outline
    from ..draft.request import template_values
    from ..records import DraftRequest

    request = DraftRequest(
        "research-report",
        "社区居家养老服务",
        unit="市民政局",
        points=["服务网络建设", "专业人才队伍"],
        materials=["全市共有社区养老服务站126个。", "调查发现，部分服务站专业护理人员不足。"],
    )
    outline = make_outline(request, settings)
    doctype = _doctype(request, outline, settings)
    writer = LLMSectionWriter(settings, request, outline, doctype, template_values(request, outline))
    report: dict[str, Any] = {"model": settings.llm_model, "base_url": settings.llm_base_url}

    user = llm_outline.outline_prompt(request, settings, outline, doctype, "")
    system = llm_outline.planner_system(settings, doctype.label)
    text, first, total = _timed(writer.client, system, user, 2048)
    _, think = llm_reply.strip_think(text)
    proposal = llm_outline.Proposal(outline, doctype, writer.verifier)
    got, problems = proposal.read(text)
    report["outline"] = {
        "first_seconds": round(first, 1),
        "seconds": round(total, 1),
        "think": think,
        "json": got is not None,
        "problems": problems + proposal.notes,
        "chars": len(text),
    }

    item = outline.items[0]
    ctx = SectionContext(request, doctype, outline, item, spec_for(doctype, item), 1, 300)
    shape = writer.shape(ctx)
    text, first, total = _timed(writer.client, writer.system, writer.section_prompt(ctx, ""), 1600)
    reply = llm_reply.parse(text)
    blocks = llm_reply.normalise(reply, shape)
    problems = llm_reply.check(blocks, shape, reply.cleaned.markers)
    if not reply.cleaned.markers:
        problems.append("未使用【正文】等标记（有小标题、分项的部分会被要求重写一次）")
    report["section"] = {
        "first_seconds": round(first, 1),
        "seconds": round(total, 1),
        "think": reply.cleaned.think,
        "markdown": reply.cleaned.markdown,
        "commentary": reply.cleaned.commentary,
        "markers": reply.cleaned.markers,
        "problems": problems,
        "chars": len(text),
        "sample": "".join(b.text for b in blocks)[:80],
    }
    return report


def _doctype(request: Any, outline: Any, settings: Settings) -> Any:
    from ..doctypes import get_doctype

    return get_doctype(request.doc_type, settings.prompts_dir).with_skeleton(outline.skeleton)


def _yes(flag: bool) -> str:
    return "有" if flag else "无"


def describe(report: dict[str, Any]) -> str:
    o, s = report["outline"], report["section"]
    lines = [
        f"模型：{report['model']}（{report['base_url']}）",
        f"提纲（JSON）：首字 {o['first_seconds']} 秒，共 {o['seconds']} 秒，{o['chars']} 字；"
        f"思考过程 {_yes(o['think'])}；JSON {'可用' if o['json'] else '无法解析'}",
        f"正文（标记）：首字 {s['first_seconds']} 秒，共 {s['seconds']} 秒，{s['chars']} 字；"
        f"思考过程 {_yes(s['think'])}；Markdown {_yes(s['markdown'])}；"
        f"说明文字 {_yes(bool(s['commentary']))}；标记 {'已遵守' if s['markers'] else '未使用'}",
    ]
    problems = o["problems"] + s["problems"]
    if problems:
        lines.append("发现的问题：" + "；".join(problems))
        lines.append("起草时这些问题会被自动处理（重写一次，仍不合格的部分改用离线拼写），但会更慢。")
    else:
        lines.append("结论：该模型能按要求输出，可以用于起草。")
    if s["sample"]:
        lines.append(f"正文示例：{s['sample']}…")
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.llm_configured:
        raise InputError(
            "未配置大模型服务：请设置 ASSISTANT_LLM_BASE_URL 和 ASSISTANT_LLM_MODEL（需要时设置 ASSISTANT_LLM_API_KEY）。"
        )
    report = check(settings)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else describe(report))
    return 0
