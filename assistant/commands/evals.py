"""``eval``: draft and score the eval cases, compare with the baseline, write an HTML report; ``eval bless``.

Exit codes: 0 when everything holds, 1 when ``--compare`` finds a regression, 2 on errors (bad input, a case
that could not be drafted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError
from ..evals import cases as eval_cases
from ..evals import driver, report
from ..evals import runs as evals
from ..settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..cli import add_common

    parser = subparsers.add_parser(
        "eval",
        help="评测：按用例起草并打分，与基线比较（eval bless [RUN] 设为基线）",
        description="按 evals/cases 下的用例起草并检查结构与覆盖；--compare 与基线比较，出现回归时退出码为 1。"
        "“eval bless [RUN]”把某次结果（默认最近一次）设为基线。",
    )
    add_common(parser)
    parser.add_argument(
        "action",
        nargs="*",
        metavar="bless [RUN] | calibrate",
        help="bless：把某次评测结果设为基线；calibrate：在范文上测量切题判断的区分度",
    )
    parser.add_argument("--cases", metavar="DIR", help="用例文件夹（默认 evals/cases）")
    parser.add_argument("--prompts", metavar="DIR", help="使用另一份 prompts/ 文件夹（试改模板时用）")
    parser.add_argument(
        "--compare",
        nargs="?",
        const="",
        metavar="BASELINE",
        help="与基线比较（默认 evals/baseline，也可指定某次结果文件夹）；有回归时退出码为 1",
    )
    parser.add_argument(
        "--drafts",
        metavar="DIR",
        help="不起草，直接给已有草稿打分（.md/.txt/.docx 或 draft --json 的 .json）",
    )
    parser.add_argument(
        "--type", dest="doc_type", metavar="TYPE", help="与 --drafts 同用：没有同名用例的草稿按此文种检查"
    )
    parser.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    parser.add_argument("--html", metavar="FILE", help="写出 HTML 对照报告")
    parser.add_argument(
        "--margin", type=float, default=evals.MEAN_MARGIN, help="指标均值允许的下降幅度（默认 0.05）"
    )
    parser.add_argument(
        "--judge",
        action="store_true",
        help="另请大模型按固定评分标准评审（只报告，不作门槛；需配置大模型服务）",
    )
    parser.add_argument(
        "--judge-gate", action="store_true", help="大模型评审也作为门槛（平均分低于 3 分即未通过）"
    )
    parser.set_defaults(func=run)


def _bless(args: argparse.Namespace, settings: Settings) -> int:
    if len(args.action) > 2:
        raise InputError("用法：python -m assistant eval bless [RUN]")
    run_path = Path(args.action[1]) if len(args.action) == 2 else evals.latest_run(settings)
    baseline = evals.bless(run_path, Path(settings.evals_dir) / "baseline")
    print(f"已将 {run_path} 设为基线：{baseline}")
    return 0


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Report how well the topicality probes separate with the configured embedder on the corpus folder's
    catalogued documents."""
    from ..content import topicality
    from ..index.embedding import get_embedder
    from ..index.loaders import load_catalog, load_document

    folder = Path(settings.corpus_dir)
    catalog = load_catalog(folder)
    texts = []
    for name, meta in sorted(catalog.items()):
        if (folder / name).is_file() and meta.get("type"):
            document = load_document(folder / name, meta)
            texts.append((document.title, document.text, str(meta["type"])))
    if not texts:
        raise InputError(f"{folder} 的 catalog.yaml 中没有标明文种的文档，无法校准。")
    probes = topicality.probes(Path(settings.prompts_dir) / "topicality.yaml")
    found = topicality.measure(get_embedder(settings), texts, probes)
    print(
        f"嵌入模型 {settings.embedder}：{len(texts)} 篇范文的 {found['sentences']} 个正文句子中，"
        f"{found['own_close']:.0%} 在语义上更接近本节标题和文题（而非其他行业探针）；"
        f"以某个探针为要点时，只有 {found['rival_close']:.0%} 会被误判为切题。"
    )
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.prompts:
        prompts = Path(args.prompts)
        if not (prompts / "types").is_dir():
            raise InputError(f"{prompts} 不是 prompts 文件夹（缺少 types/）。请复制 prompts/ 后再修改。")
        settings = settings.with_overrides(prompts_dir=prompts)
    if (args.judge or args.judge_gate) and not settings.llm_configured:
        raise InputError("--judge 需要大模型服务：请设置 ASSISTANT_LLM_BASE_URL 和 ASSISTANT_LLM_MODEL。")
    if args.action:
        if args.action[0] == "calibrate":
            return _calibrate(args, settings)
        if args.action[0] != "bless":
            raise InputError(f"未知的操作“{args.action[0]}”。可用：eval bless [RUN]、eval calibrate")
        return _bless(args, settings)
    cases_dir = Path(args.cases) if args.cases else Path(settings.evals_dir) / "cases"
    if args.drafts:
        cases = eval_cases.load_cases(cases_dir, settings.prompts_dir) if cases_dir.is_dir() else []
        current = driver.score_drafts_folder(
            settings, Path(args.drafts), cases, args.doc_type, judge=args.judge, judge_gate=args.judge_gate
        )
    else:
        if args.doc_type:
            raise InputError("--type 只能与 --drafts 一起使用。")
        cases = eval_cases.load_cases(cases_dir, settings.prompts_dir)
        current = driver.run_eval(settings, cases, cases_dir, judge=args.judge, judge_gate=args.judge_gate)
    baseline = None
    if args.compare is not None:
        baseline = evals.load_run(
            Path(args.compare) if args.compare else Path(settings.evals_dir) / "baseline"
        )
    elif (Path(settings.evals_dir) / "baseline" / "summary.json").is_file() and not args.drafts:
        baseline = evals.load_run(Path(settings.evals_dir) / "baseline")  # shown, not gated
    comparison = evals.compare(baseline, current, margin=args.margin)
    if args.html:
        report.html_report(current, baseline, comparison, Path(args.html))
    gated = args.compare is not None
    if args.json:
        out = {
            "run": str(current.path),
            "baseline": str(baseline.path) if baseline else None,
            "summary": current.summary,
            "rows": current.rows,
            "regressions": comparison.regressions if gated else [],
            "notes": comparison.notes,
            "known_failing": comparison.known,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(evals.format_table(comparison, current.summary, baseline.summary if baseline else None))
        for row in current.rows:
            failed = [
                m["label"] for m in row["metrics"].values() if m.get("gate") and m.get("passed") is False
            ]
            if row["error"]:
                print(f"  ✗ {row['case']}：起草失败：{row['error']}")
            elif failed:
                print(f"  ✗ {row['case']}：{'、'.join(failed)}")
        print(f"结果：{current.path}" + (f"；报告：{args.html}" if args.html else ""))
        for line in comparison.known:
            print(f"  ！{line}")
        for note in comparison.notes:
            print(f"  注意：{note}", file=sys.stderr)
        if gated:
            if comparison.regressions:
                print("回归：", file=sys.stderr)
                for line in comparison.regressions:
                    print(f"  {line}", file=sys.stderr)
            else:
                print("与基线相比没有回归。")
    if current.summary.get("errors"):
        return 2
    return 1 if gated and comparison.regressions else 0
