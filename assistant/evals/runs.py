"""Eval runs: cases as data, a run folder per run, a committed baseline, a regression gate and an HTML report.

A case is one YAML file (a drafting request plus the key points and facts a good draft must use). A run
drafts every case with the configured generator, scores it with ``metrics.score_draft`` and leaves a folder
``evals/runs/<timestamp>/`` with its parameters (incl. prompt file hashes), one row per case, a summary and the
drafts, so any run can be inspected, compared or blessed later. The gate compares rows, not only means: a
single case losing a hard check fails it even when the averages hold, which is what catches a broken
template in one type. The trade-off is that the baseline must be re-blessed after every intended change.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..doctypes import load_doctypes
from ..errors import InputError, UserError
from ..records import Draft, DraftRequest
from ..settings import Settings
from . import metrics

RUN_FORMAT = 1
MEAN_MARGIN = 0.05  # a metric mean dropping more than this fails the gate
DRAFT_SUFFIXES = (".json", ".md", ".txt", ".docx")


# --------------------------------------------------------------------------------------------------- cases
@dataclass
class EvalCase:
    id: str
    request: DraftRequest
    aliases: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""
    path: str = ""

    @property
    def doc_type(self) -> str:
        return self.request.doc_type


def _as_list(value: Any, what: str, path: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise InputError(f"评测用例 {path} 的 {what} 应为字符串列表。")


def load_case(path: Path, types: dict[str, Any] | None = None) -> EvalCase:
    """One case file: id, type, topic, unit, occasion, audience, length, points, materials, aliases."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"评测用例 {path} 无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"评测用例 {path} 应为 YAML 映射（id、type、topic、points …）。")
    for key in ("type", "topic"):
        if not data.get(key):
            raise InputError(f"评测用例 {path} 缺少字段 {key}。")
    doc_type = str(data["type"])
    if types is not None and doc_type not in types:
        raise InputError(f"评测用例 {path} 的文种“{doc_type}”未定义，可选：{'、'.join(types)}。")
    materials = data.get("materials") or []
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise InputError(f"评测用例 {path} 的 aliases 应为“要点: [别称…]”的映射。")
    length = data.get("length")
    request = DraftRequest(
        doc_type=doc_type,
        topic=str(data["topic"]),
        unit=str(data.get("unit") or ""),
        occasion=str(data.get("occasion") or ""),
        audience=str(data.get("audience") or ""),
        points=_as_list(data.get("points"), "points", path),
        materials=_as_list(materials, "materials", path),
        length=int(length) if length else None,
    )
    return EvalCase(
        id=str(data.get("id") or Path(path).stem),
        request=request,
        aliases={str(k): _as_list(v, f"aliases.{k}", path) for k, v in aliases.items()},
        note=str(data.get("note") or ""),
        path=str(path),
    )


def load_cases(folder: Path, prompts_dir: Path | None = None) -> list[EvalCase]:
    folder = Path(folder)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.json")])
    if not files:
        raise InputError(f"在 {folder} 下没有找到评测用例（*.yaml）。请用 --cases 指定用例文件夹。")
    types = load_doctypes(prompts_dir) if prompts_dir else None
    cases = [load_case(f, types) for f in files]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise InputError(f"评测用例 id “{case.id}”重复（{case.path}）。每个用例的 id 须唯一。")
        seen.add(case.id)
    return cases


# -------------------------------------------------------------------------------------------- draft files
def draft_from_dict(data: dict[str, Any]) -> Draft:
    """Rebuild a Draft from ``Draft.to_dict()`` (the ``draft --json`` output or a run's drafts/*.json)."""
    try:
        return Draft.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise InputError(f"草稿 JSON 格式不对（缺少或多出字段：{exc}）。请用 draft --json 的输出。") from exc


def read_draft_file(path: Path) -> tuple[Draft | str, bool]:
    """A draft on disk as (Draft or text, is_markdown). JSON is a Draft; .txt/.docx go through the loader."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"草稿 {path} 不是有效的 JSON：{exc}") from exc
        if isinstance(data, dict) and "draft" in data and isinstance(data["draft"], dict):
            data = data["draft"]
        return draft_from_dict(data), False
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8"), True
    try:
        from ..index.loaders import load_document
    except ImportError:
        if path.suffix == ".docx":
            raise InputError(f"无法读取 {path}：缺少 .docx 读取模块。") from None
        return path.read_text(encoding="utf-8"), False
    # the loader writes a .docx file's style headings as Markdown heading lines: read those as structure
    return load_document(path).text, path.suffix == ".docx"


# ---------------------------------------------------------------------------------------------- scoring
def row_for(case_id: str, doc_type: str, card: metrics.Scorecard, draft_file: str = "") -> dict[str, Any]:
    return {
        "case": case_id,
        "type": doc_type,
        "passed": card.passed,
        "error": "",
        "draft": draft_file,
        "metrics": {r.name: r.to_dict() for r in card.results},
    }


def add_judge(
    row: dict[str, Any], draft: Draft | str, request: DraftRequest | None, settings: Settings, gate: bool
) -> None:
    """Add the LLM judge's metric to ``row`` (it fails the row only when ``gate``)."""
    label = load_doctypes(settings.prompts_dir)[row["type"]].label
    text = draft.text if isinstance(draft, Draft) else draft
    if request is None and isinstance(draft, Draft):
        request = draft.request
    result = judge_draft(text, label, request, settings, gate=gate)
    row["metrics"]["judge"] = result
    if result["passed"] is False:
        row["passed"] = False


def error_row(case_id: str, doc_type: str, message: str) -> dict[str, Any]:
    return {"case": case_id, "type": doc_type, "passed": False, "error": message, "draft": "", "metrics": {}}


def score_case(
    case: EvalCase, draft: Draft | str, settings: Settings, markdown: bool = False
) -> metrics.Scorecard:
    return metrics.score_draft(
        draft,
        case.doc_type,
        request=case.request,
        aliases=case.aliases,
        prompts_dir=settings.prompts_dir,
        markdown=markdown,
    )


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric: mean value over the cases where it applies, and pass/fail counts."""
    per: dict[str, dict[str, Any]] = {}
    for row in rows:
        for name, result in row["metrics"].items():
            entry = per.setdefault(
                name,
                {
                    "label": result.get("label", name),
                    "gate": result.get("gate", False),
                    "values": [],
                    "passed": 0,
                    "failed": 0,
                },
            )
            if result.get("value") is not None:
                entry["values"].append(result["value"])
            if result.get("passed") is True:
                entry["passed"] += 1
            elif result.get("passed") is False:
                entry["failed"] += 1
    out_metrics = {}
    for name, entry in per.items():
        values = entry.pop("values")
        entry["mean"] = round(sum(values) / len(values), 4) if values else None
        entry["n"] = len(values)
        out_metrics[name] = entry
    return {
        "cases": len(rows),
        "passed": sum(1 for r in rows if r["passed"]),
        "errors": sum(1 for r in rows if r["error"]),
        "metrics": out_metrics,
    }


# ------------------------------------------------------------------------------------------------- runs
@dataclass
class Run:
    path: Path
    params: dict[str, Any]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]

    def row(self, case_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["case"] == case_id), None)

    def draft_text(self, case_id: str) -> str:
        folder = self.path / "drafts"
        json_file = folder / f"{case_id}.json"
        if json_file.is_file():
            try:
                return json.loads(json_file.read_text(encoding="utf-8")).get("text", "")
            except (json.JSONDecodeError, OSError):
                pass
        for suffix in (".md", ".txt"):
            file = folder / f"{case_id}{suffix}"
            if file.is_file():
                return file.read_text(encoding="utf-8")
        return ""


def prompt_hashes(prompts_dir: Path) -> dict[str, str]:
    """sha256 (12 hex) of every file under ``prompts_dir``, by relative path."""
    root = Path(prompts_dir)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def new_run_dir(settings: Settings) -> Path:
    root = Path(settings.evals_dir) / "runs"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    return path


def write_run(
    path: Path,
    params: dict[str, Any],
    rows: list[dict[str, Any]],
    drafts: dict[str, Draft | str] | None = None,
) -> Run:
    path = Path(path)
    (path / "drafts").mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    params = {"format": RUN_FORMAT, **params}
    (path / "params.json").write_text(json.dumps(params, ensure_ascii=False, indent=2), encoding="utf-8")
    (path / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    with (path / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    for case_id, draft in (drafts or {}).items():
        if isinstance(draft, Draft):
            (path / "drafts" / f"{case_id}.json").write_text(
                json.dumps(draft.to_dict(), ensure_ascii=False), encoding="utf-8"
            )
            (path / "drafts" / f"{case_id}.md").write_text(_markdown(draft), encoding="utf-8")
        else:
            (path / "drafts" / f"{case_id}.md").write_text(str(draft), encoding="utf-8")
    return Run(path, params, rows, summary)


def _markdown(draft: Draft) -> str:
    try:
        from ..draft.export import to_markdown
    except ImportError:
        return "\n\n".join(x for x in (draft.title, draft.subtitle, draft.text) if x) + "\n"
    return to_markdown(draft)


def load_run(path: Path) -> Run:
    path = Path(path)
    summary_file, rows_file = path / "summary.json", path / "rows.jsonl"
    if not summary_file.is_file() or not rows_file.is_file():
        raise InputError(
            f"{path} 不是评测结果文件夹（缺少 summary.json 或 rows.jsonl）。请指定 evals/runs/ 下的某次运行或 evals/baseline。"
        )
    try:
        params_file = path / "params.json"
        params = json.loads(params_file.read_text(encoding="utf-8")) if params_file.is_file() else {}
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        rows = [
            json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"评测结果 {path} 已损坏：{exc}") from exc
    if params.get("format", RUN_FORMAT) != RUN_FORMAT:
        raise InputError(
            f"评测结果 {path} 的格式版本为 {params.get('format')}，本程序只读版本 {RUN_FORMAT}。请重新运行评测。"
        )
    return Run(path, params, rows, summary)


def latest_run(settings: Settings) -> Path:
    root = Path(settings.evals_dir) / "runs"
    runs = sorted(p for p in root.glob("*") if (p / "summary.json").is_file()) if root.is_dir() else []
    if not runs:
        raise InputError(f"{root} 下还没有评测结果。请先运行 python -m assistant eval。")
    return runs[-1]


def bless(run_path: Path, baseline_dir: Path) -> Path:
    """Make ``run_path`` the stored baseline (summary, rows, params and drafts; nothing else)."""
    run = load_run(run_path)
    baseline_dir = Path(baseline_dir)
    if baseline_dir.resolve() == run.path.resolve():
        raise InputError("该结果已经是基线。")
    if baseline_dir.exists():
        shutil.rmtree(baseline_dir)
    baseline_dir.mkdir(parents=True)
    for name in ("params.json", "summary.json", "rows.jsonl"):
        if (run.path / name).is_file():
            shutil.copy2(run.path / name, baseline_dir / name)
    if (run.path / "drafts").is_dir():
        shutil.copytree(run.path / "drafts", baseline_dir / "drafts")
    (baseline_dir / "SOURCE").write_text(f"{run.path.name}\n", encoding="utf-8")
    return baseline_dir


# ---------------------------------------------------------------------------------------------- compare
@dataclass
class Comparison:
    regressions: list[str]  # Chinese lines naming case and metric
    notes: list[str]
    table: list[dict[str, Any]]  # per metric: name, label, baseline, now, delta

    @property
    def ok(self) -> bool:
        return not self.regressions


def compare(baseline: Run | None, current: Run, margin: float = MEAN_MARGIN) -> Comparison:
    """Gate: a check passing in the baseline and failing now, a case that no longer drafts, or a metric mean
    dropping by more than ``margin``."""
    regressions: list[str] = []
    notes: list[str] = []
    base_metrics = (baseline.summary.get("metrics") if baseline else {}) or {}
    now_metrics = current.summary.get("metrics") or {}
    table = []
    for name in [*metrics.METRIC_LABELS, *[n for n in now_metrics if n not in metrics.METRIC_LABELS]]:
        b, c = base_metrics.get(name), now_metrics.get(name)
        if b is None and c is None:
            continue
        b_mean = b.get("mean") if b else None
        c_mean = c.get("mean") if c else None
        delta = round(c_mean - b_mean, 4) if b_mean is not None and c_mean is not None else None
        table.append(
            {
                "name": name,
                "label": metrics.METRIC_LABELS.get(name, name),
                "gate": (c or b or {}).get("gate", False),
                "baseline": b_mean,
                "now": c_mean,
                "delta": delta,
                "baseline_failed": b.get("failed") if b else None,
                "now_failed": c.get("failed") if c else None,
            }
        )
        if delta is not None and delta < -margin and baseline is not None:
            dropped = []
            for row in current.rows:
                old = baseline.row(row["case"])
                if not old:
                    continue
                ov = (old["metrics"].get(name) or {}).get("value")
                nv = (row["metrics"].get(name) or {}).get("value")
                if ov is not None and nv is not None and nv < ov:
                    dropped.append((nv - ov, row["case"]))
            cases = "、".join(case for _, case in sorted(dropped)[:5])
            regressions.append(
                f"{metrics.METRIC_LABELS.get(name, name)}（{name}）均值下降 {b_mean:.3f} → {c_mean:.3f}"
                f"（超过 {margin:.2f}）；下降最多的用例：{cases or '—'}"
            )
    if baseline is None:
        return Comparison(regressions, notes, table)
    for row in current.rows:
        old = baseline.row(row["case"])
        if old is None:
            notes.append(f"{row['case']}：基线中没有此用例（新增）")
            continue
        if row["error"] and not old["error"]:
            regressions.append(f"{row['case']}：起草失败：{row['error']}")
            continue
        for name, result in row["metrics"].items():
            before = old["metrics"].get(name) or {}
            if result.get("gate") and before.get("passed") is True and result.get("passed") is False:
                regressions.append(
                    f"{row['case']}：{result.get('label', name)}（{name}）由通过变为未通过：{result.get('reason', '')}"
                )
    current_ids = {r["case"] for r in current.rows}
    for old in baseline.rows:
        if old["case"] not in current_ids:
            notes.append(f"{old['case']}：本次没有评测此用例")
    return Comparison(regressions, notes, table)


def format_table(
    comparison: Comparison, summary: dict[str, Any], baseline_summary: dict[str, Any] | None
) -> str:
    def num(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    def fails(x: int | None) -> str:
        return "" if x is None else f"{x}"

    rows = [("指标", "门槛", "基线", "本次", "变化", "未通过(基线→本次)")]
    for entry in comparison.table:
        delta = entry["delta"]
        shown = "—" if delta is None else f"{delta:+.3f}"
        failed = f"{fails(entry['baseline_failed']) or '—'}→{fails(entry['now_failed'])}"
        rows.append(
            (
                f"{entry['label']}（{entry['name']}）",
                "是" if entry["gate"] else "",
                num(entry["baseline"]),
                num(entry["now"]),
                shown,
                failed,
            )
        )
    base_pass = f"{baseline_summary['passed']}/{baseline_summary['cases']}" if baseline_summary else "—"
    rows.append(("全部门槛通过的用例", "", base_pass, f"{summary['passed']}/{summary['cases']}", "", ""))

    def width(s: str) -> int:
        return sum(2 if ord(c) > 0x2E80 else 1 for c in s)

    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        lines.append("  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(r)).rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ eval driver
def ensure_index(settings: Settings, log: Callable[[str], None]) -> None:
    """Ingest the corpus first when there is no index at ``settings.index_dir``."""
    from ..errors import IndexMissingError
    from ..index.retrieval import Retriever

    try:
        Retriever.open(settings)
        return
    except IndexMissingError:
        pass
    from ..index.ingest import ingest

    log(f"索引 {settings.index_dir} 不存在，先导入范文库 {settings.corpus_dir} …")
    ingest([Path(settings.corpus_dir)], settings)


def run_eval(
    settings: Settings,
    cases: list[EvalCase],
    cases_dir: Path,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
    judge: bool = False,
    judge_gate: bool = False,
    generator_mode: str = "",
    judge_settings: Settings | None = None,
) -> Run:
    """Draft and score every case; write and return the run folder. ``generator_mode`` ("llm" | "composer")
    is recorded with the run (the settings already say which one drafts); ``judge_settings`` is the model
    the judge asks when the drafts come from the composer."""
    from ..draft.pipeline import write_draft

    ensure_index(settings, log)
    rows, drafts = [], {}
    generator: dict[str, Any] = {}
    started = datetime.now(UTC)
    for i, case in enumerate(cases, 1):
        log(f"[{i}/{len(cases)}] {case.id}")
        try:
            draft = write_draft(case.request, settings)
        except UserError as exc:
            rows.append(error_row(case.id, case.doc_type, str(exc)))
            continue
        generator = generator or dict(draft.generator)
        drafts[case.id] = draft
        card = score_case(case, draft, settings)
        rows.append(row_for(case.id, case.doc_type, card, f"drafts/{case.id}.json"))
        if judge or judge_gate:
            add_judge(rows[-1], draft, case.request, judge_settings or settings, judge_gate)
    params = {
        "created": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "mode": "draft",
        "generator_mode": generator_mode or ("llm" if settings.llm_configured else "composer"),
        "cases_dir": str(cases_dir),
        "cases": [c.id for c in cases],
        "generator": generator,
        "settings": {
            k: v for k, v in settings.public_dict().items() if not k.startswith(("auth", "host", "port"))
        },
        "prompts": prompt_hashes(settings.prompts_dir),
    }
    return write_run(new_run_dir(settings), params, rows, drafts)


def _catalog_types(folder: Path) -> dict[str, str]:
    catalog = folder / "catalog.yaml"
    if not catalog.is_file():
        return {}
    try:
        data = yaml.safe_load(catalog.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{catalog} 格式有误：{exc}") from exc
    return {Path(k).stem: str(v["type"]) for k, v in data.items() if isinstance(v, dict) and v.get("type")}


def score_drafts_folder(
    settings: Settings,
    folder: Path,
    cases: list[EvalCase],
    doc_type: str | None = None,
    judge: bool = False,
    judge_gate: bool = False,
) -> Run:
    """Score existing drafts: matched to a case by file stem, else typed by the folder's catalog.yaml or
    ``doc_type``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"草稿文件夹 {folder} 不存在。")
    by_id = {c.id: c for c in cases}
    catalog = _catalog_types(folder)
    types = load_doctypes(settings.prompts_dir)
    if doc_type and doc_type not in types:
        raise InputError(f"未知的文种：{doc_type}。可选：{'、'.join(types)}")
    files = sorted(p for p in folder.iterdir() if p.suffix in DRAFT_SUFFIXES and p.is_file())
    # one file per stem: prefer the JSON (it carries sources and the request)
    chosen: dict[str, Path] = {}
    for p in files:
        if p.stem not in chosen or p.suffix == ".json":
            chosen[p.stem] = p
    if not chosen:
        raise InputError(f"{folder} 下没有草稿文件（{'、'.join(DRAFT_SUFFIXES)}）。")
    rows, drafts = [], {}
    for stem, path in chosen.items():
        draft, markdown = read_draft_file(path)
        case = by_id.get(stem)
        kind = case.doc_type if case else (catalog.get(stem) or doc_type)
        if kind is None and isinstance(draft, Draft) and draft.doc_type:
            kind = draft.doc_type
        if kind is None:
            raise InputError(
                f"草稿 {path.name} 没有同名用例，也无法确定文种。请用 --type 指定文种，或把文件名改为用例 id。"
            )
        if case:
            card = score_case(case, draft, settings, markdown=markdown)
        else:
            card = metrics.score_draft(draft, kind, prompts_dir=settings.prompts_dir, markdown=markdown)
        rows.append(row_for(stem, kind, card, path.name))
        if judge or judge_gate:
            add_judge(rows[-1], draft, case.request if case else None, settings, judge_gate)
        drafts[stem] = draft
    params = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "drafts",
        "drafts_dir": str(folder),
        "cases": list(chosen),
        "prompts": prompt_hashes(settings.prompts_dir),
    }
    return write_run(new_run_dir(settings), params, rows, drafts)


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


# ------------------------------------------------------------------------------------------- HTML report
_MARK_KEYS = {
    "leftovers": lambda d: [f["text"] for f in d.get("found", [])],
    "numbers": lambda d: [u["text"] for u in d.get("unsupported", [])],
    "numbering": lambda d: d.get("marks", []),
    "numbering_style": lambda d: d.get("marks", []),
    "copying": lambda d: (
        [d["span"]] if d.get("span") and d.get("longest_span", 0) > metrics.COPY_SPAN_CEILING else []
    ),
}


def _marked(text: str, row: dict[str, Any] | None) -> str:
    """``text`` escaped, with the failing checks' snippets wrapped in <mark>."""
    terms: dict[str, str] = {}
    for name, result in ((row or {}).get("metrics") or {}).items():
        if result.get("passed") is False and name in _MARK_KEYS:
            for term in _MARK_KEYS[name](result.get("details") or {}):
                if term and term.strip():
                    terms.setdefault(term, name)
    escaped = html.escape(text)
    if not terms:
        return escaped
    ordered = sorted(terms, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(html.escape(t)) for t in ordered))
    lookup = {html.escape(t): terms[t] for t in ordered}
    return pattern.sub(lambda m: f'<mark class="{lookup.get(m.group(0), "x")}">{m.group(0)}</mark>', escaped)


def _checks(row: dict[str, Any] | None) -> str:
    if row is None:
        return "<p class=muted>（无此用例）</p>"
    if row.get("error"):
        return f"<p class=bad>起草失败：{html.escape(row['error'])}</p>"
    items = []
    for result in row["metrics"].values():
        state = {True: "ok", False: "bad", None: "na"}[result.get("passed")]
        sign = {"ok": "✓", "bad": "✗", "na": "·"}[state]
        value = "—" if result.get("value") is None else f"{result['value']:.2f}"
        gate = "（门槛）" if result.get("gate") else ""
        items.append(
            f"<li class={state}>{sign} <b>{html.escape(result.get('label', ''))}</b>{gate} {value}："
            f"{html.escape(result.get('reason', ''))}</li>"
        )
    return "<ul class=checks>" + "".join(items) + "</ul>"


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
table.sum{border-collapse:collapse}table.sum td,table.sum th{border:1px solid #ccc;padding:2px 8px;text-align:right}
table.sum td:first-child{text-align:left}.neg{color:#b00}.pos{color:#070}
section.case{border-top:2px solid #999;margin-top:1.5em;padding-top:.5em}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{white-space:pre-wrap;font-family:"Noto Serif CJK SC",serif;background:#fafafa;padding:.6em;border:1px solid #ddd;max-height:40em;overflow:auto}
ul.checks{list-style:none;padding-left:0;font-size:90%}li.bad{color:#b00}li.ok{color:#060}li.na{color:#888}
mark{background:#ffd24d}mark.leftovers{background:#ff9e9e}mark.numbers{background:#ffb3e6}mark.copying{background:#b3d9ff}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff}.badge.ok{background:#2a7}.badge.bad{background:#c33}
.regress{color:#b00;font-weight:bold}.muted{color:#888}
"""

_JS = """
document.getElementById('only-failing').addEventListener('change',function(e){
  document.querySelectorAll('section.case').forEach(function(s){
    s.style.display=(e.target.checked&&s.dataset.failing!=='1')?'none':'';});});
"""


def html_report(current: Run, baseline: Run | None, comparison: Comparison, path: Path) -> Path:
    """One self-contained HTML file: summary table, then per case the two drafts side by side."""
    e = html.escape
    parts = [
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>公文评测报告</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>公文评测报告</h1><p>本次：{e(str(current.path))}"
        + (f"　基线：{e(str(baseline.path))}" if baseline else "　（无基线）")
        + "</p>",
    ]
    if comparison.regressions:
        parts.append("<h2 class=regress>回归（门槛未通过）</h2><ul>")
        parts += [f"<li class=regress>{e(r)}</li>" for r in comparison.regressions]
        parts.append("</ul>")
    parts.append(
        "<table class=sum><tr><th>指标</th><th>基线</th><th>本次</th><th>变化</th><th>未通过</th></tr>"
    )
    for entry in comparison.table:
        delta = entry["delta"]
        cls = "neg" if delta is not None and delta < 0 else "pos" if delta else ""
        fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
        parts.append(
            f"<tr><td>{e(entry['label'])}{'（门槛）' if entry['gate'] else ''}</td><td>{fmt(entry['baseline'])}</td>"
            f"<td>{fmt(entry['now'])}</td><td class={cls}>{'—' if delta is None else f'{delta:+.3f}'}</td>"
            f"<td>{entry['baseline_failed'] if entry['baseline_failed'] is not None else '—'} → {entry['now_failed']}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<p><label><input type=checkbox id=only-failing> 只看有未通过项的用例</label></p>")
    ids = [r["case"] for r in current.rows] + [
        r["case"] for r in (baseline.rows if baseline else []) if not current.row(r["case"])
    ]
    for case_id in ids:
        now_row = current.row(case_id)
        old_row = baseline.row(case_id) if baseline else None
        failing = bool(
            now_row
            and (now_row.get("error") or any(m.get("passed") is False for m in now_row["metrics"].values()))
        )
        badge = (
            "<span class='badge bad'>门槛未通过</span>"
            if now_row and not now_row["passed"]
            else "<span class='badge ok'>门槛通过</span>"
        )
        kind = (now_row or old_row or {}).get("type", "")
        parts.append(f"<section class=case data-failing={'1' if failing else '0'} id='{e(case_id)}'>")
        parts.append(f"<h2>{e(case_id)} <small class=muted>{e(kind)}</small> {badge}</h2><div class=cols>")
        for title, run, row in (("基线", baseline, old_row), ("本次", current, now_row)):
            text = run.draft_text(case_id) if run else ""
            parts.append(
                f"<div><h3>{title}</h3>{_checks(row)}<pre>{_marked(text, row) if text else '（无草稿）'}</pre></div>"
            )
        parts.append("</div></section>")
    parts.append(f"<script>{_JS}</script></body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
