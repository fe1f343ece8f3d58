"""CLI: ``draft`` — write a draft from a type, a topic and key points, grounded in the indexed corpus.

The handler only turns flags into a ``DraftRequest``, calls ``drafting`` (the same functions the web UI
calls) and prints or saves the result. Progress and warnings go to stderr so stdout stays the draft itself
(or its JSON) and can be piped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..cli import add_common
from ..doctypes import load_doctypes
from ..draft import export
from ..draft import pipeline as drafting
from ..errors import InputError
from ..index import loaders
from ..records import DraftRequest, Outline
from ..settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("draft", help="按文种起草公文初稿（依据范文库）")
    p.add_argument(
        "--type",
        dest="doc_type",
        required=True,
        metavar="T",
        help="文种：speech、duty-report、research-report、work-report 等",
    )
    p.add_argument("--topic", required=True, metavar="S", help="主题，如“机关党支部标准化规范化建设”")
    p.add_argument("--unit", default="", metavar="S", help="单位名称（也是讲话稿标题下的署名行）")
    p.add_argument("--occasion", default="", metavar="S", help="场合或会议名称，如“全市机关党建工作推进会”")
    p.add_argument("--audience", default="", metavar="S", help="对象（可选）")
    p.add_argument("--speaker", default="", metavar="S", help="讲话人或述职人（职务，如“市人民政府副市长”）")
    p.add_argument(
        "--body",
        dest="bodies",
        action="append",
        default=[],
        metavar="S",
        help="草稿可以提及的单位（部门、上级机关），可重复；其他材料中没有的名称会标“【核实】”",
    )
    p.add_argument(
        "--point", dest="points", action="append", default=[], metavar="S", help="写作要点，可重复"
    )
    p.add_argument(
        "--materials",
        action="append",
        default=[],
        metavar="FILE",
        help="事实材料文件（.txt/.md/.docx），可重复",
    )
    p.add_argument("--length", type=int, metavar="N", help="目标字数")
    p.add_argument(
        "--outline-only",
        action="store_true",
        help="只输出提纲（配置了大模型时由大模型拟定；加 --json 可保存后修改）",
    )
    p.add_argument(
        "--outline", metavar="FILE", help="按修改过的提纲起草（draft --outline-only --json 的输出）"
    )
    p.add_argument("--out", metavar="FILE", help="保存为 .docx（公文格式）或 .md")
    p.add_argument("--json", action="store_true", help="输出完整的草稿 JSON")
    add_common(p)
    p.set_defaults(func=run_draft)


def read_materials(paths: list[str]) -> list[str]:
    """The texts of the materials files (UTF-8, GBK, UTF-16 and .docx are all read)."""
    texts = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise InputError(f"找不到材料文件：{path}。请检查 --materials 的路径。")
        texts.append(loaders.clean_text(loaders.read_text(path)[0]))
    return texts


def build_request(args: argparse.Namespace) -> DraftRequest:
    return DraftRequest(
        doc_type=args.doc_type,
        topic=(args.topic or "").strip(),
        unit=args.unit.strip(),
        occasion=args.occasion.strip(),
        audience=args.audience.strip(),
        speaker=args.speaker.strip(),
        bodies=[b.strip() for b in args.bodies if b.strip()],
        points=[p.strip() for p in args.points if p.strip()],
        materials=read_materials(args.materials),
        length=args.length,
    )


def _progress(kind: str, payload: dict[str, Any]) -> None:
    if kind == "section_start":
        again = "（重写）" if payload.get("retry") else ""
        print(f"正在起草：{payload['heading'] or payload['key']}{again}…", file=sys.stderr, flush=True)


def outline_text(outline: Outline) -> str:
    facts = {f.id: f for f in outline.facts}
    lines = [outline.title]
    for n, item in enumerate(outline.items, 1):
        lines.append(f"{n}. {item.heading}（{item.role}）")
        for point in item.points:
            answer = item.pairs.get(point)
            lines.append(f"   - {point}" + (f" → {answer}" if answer else ""))
        lines += [f"   · 材料{i}：{facts[i].text}" for i in item.facts if i in facts]
    unplaced = [f for f in outline.facts if not f.section]
    lines += [f"未放入的材料{f.id}：{f.text}" for f in unplaced]
    return "\n".join(lines)


def read_outline(path: str, request: DraftRequest) -> Outline:
    """An outline the writer edited (``draft --outline-only --json``), checked against the request."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"找不到提纲文件：{file}。请先用 draft --outline-only --json > 提纲.json 生成。")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        outline = Outline.from_dict(data.get("outline", data) if isinstance(data, dict) else data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"提纲文件 {file} 无法读取（{type(exc).__name__}）：请用 draft --outline-only --json 的输出修改，保持 JSON 格式。"
        ) from None
    if outline.doc_type != request.doc_type:
        raise InputError(
            f"提纲文件 {file} 是“{outline.doc_type}”的提纲，与 --type {request.doc_type} 不一致。"
        )
    if not outline.items:
        raise InputError(f"提纲文件 {file} 中没有任何部分（items 为空）。")
    return outline


def run_draft(args: argparse.Namespace, settings: Settings) -> int:
    if args.out and Path(args.out).suffix.lower() not in (".docx", ".md", ".markdown", ".txt"):
        raise InputError(f"不支持的输出格式“{args.out}”：--out 请用 .docx 或 .md 结尾的文件名。")
    load_doctypes(settings.prompts_dir)
    request = build_request(args)
    if args.outline and args.outline_only:
        raise InputError("--outline 与 --outline-only 不能同时使用：前者按提纲起草，后者只生成提纲。")
    if args.outline:
        outline = read_outline(args.outline, request)
    else:
        notes: list[str] = []
        outline = drafting.propose_outline(
            request,
            settings,
            lambda kind, payload: notes.append(payload["text"]) if kind == "warning" else None,
        )
        for note in notes:
            print(f"提示：{note}", file=sys.stderr)
    if args.outline_only:
        print(
            json.dumps(outline.to_dict(), ensure_ascii=False, indent=2)
            if args.json
            else outline_text(outline)
        )
        return 0
    draft = drafting.write_draft(request, settings, outline=outline, on_event=_progress)
    for warning in draft.warnings:
        print(f"提示：{warning}", file=sys.stderr)
    if args.out:
        path = export.save(draft, Path(args.out))
        print(f"已保存：{path}", file=sys.stderr)
    if args.json:
        print(json.dumps(draft.to_dict(), ensure_ascii=False, indent=2))
    elif not args.out:
        print(draft.text)
        if draft.sources:
            print()
            print("参考来源：")
            print(export.sources_text(draft))
    return 0
