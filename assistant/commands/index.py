"""CLI: ``ingest``, ``search`` and ``corpus list|delete|set-type`` over the index.

Handlers only parse flags, call ``ingest`` / ``retrieval`` and print; all decisions live in those modules so
the web UI behaves the same. ``--json`` output is for scripts; plain output is for people.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import add_common
from ..content import hygiene
from ..content.injection import strip_controls
from ..doctypes import load_doctypes
from ..errors import UserError
from ..index import ingest as ingest_mod
from ..index.retrieval import Retriever
from ..records import ROLES
from ..settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="把范文入库（增量：只处理新增、修改、删除的文件）")
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="文件或文件夹（默认 corpus/ 或 ASSISTANT_CORPUS_DIR）"
    )
    p.add_argument("--rebuild", action="store_true", help="清空索引后全部重建（更换嵌入模型后需要）")
    add_common(p)
    p.set_defaults(func=run_ingest)

    p = subparsers.add_parser("search", help="在范文库中检索段落（向量 + 关键词混合检索）")
    p.add_argument("query", metavar="QUERY", help="要查找的内容")
    p.add_argument("--type", dest="doc_type", metavar="T", help="只在该文种中检索，如 research-report")
    p.add_argument("--role", metavar="R", help=f"只检索该角色的章节：{'、'.join(ROLES)}")
    p.add_argument("-k", type=int, default=8, metavar="N", help="返回条数（默认 8）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    add_common(p)
    p.set_defaults(func=run_search)

    corpus = subparsers.add_parser("corpus", help="查看和管理已入库的范文")
    actions = corpus.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("list", help="列出已入库的文档（文种、章节数、片段数）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    add_common(p)
    p.set_defaults(func=run_corpus_list)
    p = actions.add_parser("delete", help="从索引中删除一篇文档")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument(
        "--remove-file",
        action="store_true",
        help="同时把原文件移出范文库文件夹（移到其中的 .deleted 子文件夹，可恢复）",
    )
    add_common(p)
    p.set_defaults(func=run_corpus_delete)
    p = actions.add_parser("set-type", help="更正一篇文档的文种（以后重新入库也保持）")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument("doc_type", metavar="TYPE", help="文种名，如 speech；写 auto 则取消更正、恢复自动识别")
    add_common(p)
    p.set_defaults(func=run_corpus_set_type)
    corpus.set_defaults(func=lambda args, settings: _usage(corpus))


def _say(text: str) -> None:
    """Print text that comes from documents: control characters (ANSI escapes in a title, bidi overrides)
    are never sent to the terminal raw, whatever an index built before they were stripped at load holds."""
    print(strip_controls(text))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _names(ids: list[str]) -> str:
    shown = "、".join(ids[:5])
    return shown + (f" 等 {len(ids)} 篇" if len(ids) > 5 else "")


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    paths = [Path(p) for p in args.paths] or [Path(settings.corpus_dir)]
    report = ingest_mod.ingest(paths, settings, rebuild=args.rebuild)
    for error in report.errors:
        print(strip_controls(f"错误：{error}"), file=sys.stderr)
    if report.changed:
        for label, ids in (("新增", report.added), ("更新", report.updated), ("移除", report.removed)):
            if ids:
                print(f"{label} {len(ids)} 篇：{_names(ids)}")
        if report.skipped:
            print(f"未变 {len(report.skipped)} 篇")
        reused = report.chunks_written - report.chunks_embedded
        note = f"（其中 {reused} 个沿用已有向量）" if reused else ""
        print(f"写入片段 {report.chunks_written} 个{note}。")
    else:
        print(f"没有变化：{len(report.skipped)} 篇文档均未改动，未写入任何片段。")
    print(
        f"索引 {settings.index_dir}：共 {report.documents_total} 篇文档、{report.chunks_total} 个片段，"
        f"用时 {report.seconds:.1f} 秒。"
    )
    if report.errors:
        print(
            f"有 {len(report.errors)} 个文件未能入库（见上方错误），已入库的文档保持不变。", file=sys.stderr
        )
        return 1
    return 0


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    passages = Retriever.open(settings).search(args.query, doc_type=args.doc_type, role=args.role, k=args.k)
    if args.json:
        rows = []
        for p in passages:
            row = p.to_dict()
            row["type"] = row["doc_type"]
            rows.append(row)
        _say(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not passages:
        _say("没有找到相关段落。可以换个说法，或去掉 --type / --role 限制。")
        return 0
    for rank, p in enumerate(passages, 1):
        c = p.chunk
        _say(f"{rank}. 《{c.title}》（{c.doc_type or ingest_mod.UNKNOWN_LABEL}｜{c.role}）得分 {p.score:.4f}")
        if c.heading_path:
            _say(f"   位置：{c.heading_path}")
        text = c.text.replace("\n", " ")
        _say(f"   {text[:160]}{'…' if len(text) > 160 else ''}")
        _say(f"   片段编号：{c.chunk_id}")
    return 0


def _type_line(d: dict, labels: dict[str, str]) -> str:
    """``文种 述职报告 duty-report（识别 0.93）`` or, when unknown, the two likeliest types."""
    sources = {"metadata": "目录", "detected": "识别", "override": "更正"}
    source = sources.get(d["type_source"], d["type_source"])
    if not d["doc_type"]:
        guesses = "，".join(
            f"{labels.get(name, name)} {name} {confidence:.2f}"
            for name, confidence in d.get("type_candidates", [])
        )
        return f"文种 {ingest_mod.UNKNOWN_LABEL}（{source}；最像：{guesses or '无'}）"
    confidence = f" {min(d['type_confidence'], 0.99):.2f}" if d["type_source"] == "detected" else ""
    label = labels.get(d["doc_type"], "")
    return f"文种 {label + ' ' if label else ''}{d['doc_type']}（{source}{confidence}）"


def _warning_line(d: dict) -> str:
    """``提示 脱敏或占位标记 3、疑似抓取残缺 1`` (counts by kind)."""
    labels = {**hygiene.KIND_LABELS, "duplicate": "疑似重复文档"}
    counts = d.get("warning_counts", {})
    return "提示 " + "、".join(f"{labels.get(kind, kind)} {n}" for kind, n in counts.items())


def run_corpus_list(args: argparse.Namespace, settings: Settings) -> int:
    documents = ingest_mod.list_documents(settings)
    if args.json:
        _say(json.dumps(documents, ensure_ascii=False, indent=2))
        return 0
    if not documents:
        _say("索引中还没有文档。请先运行 python -m assistant ingest")
        return 0
    try:
        labels = {name: t.label for name, t in load_doctypes(settings.prompts_dir).items()}
    except UserError:
        labels = {}
    unknown = warned = 0
    for d in documents:
        unknown += not d["doc_type"]
        where = Path(d["path"]).name
        if d.get("part"):
            where += f" 第 {d['part']}/{d['parts']} 篇"
        _say(
            f"{d['doc_id']}  {d['title']}\n"
            f"    {_type_line(d, labels)}  章节 {d['sections']}  片段 {d['chunks']}  {where}"
        )
        if d.get("warning_counts"):
            warned += 1
            _say(f"    {_warning_line(d)}")
    _say(f"共 {len(documents)} 篇文档、{sum(d['chunks'] for d in documents)} 个片段。")
    if unknown:
        _say(
            f"有 {unknown} 篇文档的文种未识别：按文种检索和起草时不会把它们当作同类范文。"
            "可运行 python -m assistant corpus set-type 文档编号 文种名 更正。"
        )
    if warned:
        _say(
            f"有 {warned} 篇文档带有提示（脱敏标记、疑似残缺、提法或重复）：带提示的句子不会进入草稿。"
            "详情见 python -m assistant corpus list --json 的 warnings。"
        )
    return 0


def run_corpus_delete(args: argparse.Namespace, settings: Settings) -> int:
    moved = ingest_mod.delete_document(settings, args.doc_id, remove_file=args.remove_file)
    if moved:
        extra = f"，原文件已移到 {moved}（需要时可移回范文文件夹，再次入库即恢复）"
    elif args.remove_file:
        extra = "（原文件已不存在）"
    else:
        extra = "（原文件仍在，再次入库该文件夹会重新加入）"
    print(f"已从索引中删除 {args.doc_id}{extra}。")
    return 0


def run_corpus_set_type(args: argparse.Namespace, settings: Settings) -> int:
    doc_type = None if args.doc_type == "auto" else args.doc_type
    ingest_mod.set_document_type(settings, args.doc_id, doc_type)
    print(
        f"已将 {args.doc_id} 的文种{'恢复为自动识别' if doc_type is None else '更正为 ' + doc_type}，并已重新入库。"
    )
    return 0
