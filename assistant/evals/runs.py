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
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..records import Draft
from ..settings import Settings
from . import metrics

RUN_FORMAT = 1
MEAN_MARGIN = 0.05  # a metric mean dropping more than this fails the gate


# ---------------------------------------------------------------------------------------------- scoring
def row_for(
    case_id: str, doc_type: str, card: metrics.Scorecard, draft_file: str = "", known_failing: str = ""
) -> dict[str, Any]:
    return {
        "case": case_id,
        "type": doc_type,
        "passed": card.passed,
        "error": "",
        "draft": draft_file,
        "known_failing": known_failing,
        "metrics": {r.name: r.to_dict() for r in card.results},
    }


def failed_gates(row: dict[str, Any]) -> list[str]:
    return [
        m.get("label") or n for n, m in row["metrics"].items() if m.get("gate") and m.get("passed") is False
    ]


def error_row(case_id: str, doc_type: str, message: str) -> dict[str, Any]:
    return {"case": case_id, "type": doc_type, "passed": False, "error": message, "draft": "", "metrics": {}}


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
        "known_failing": sum(1 for r in rows if r.get("known_failing")),
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
    known: list[str] = field(default_factory=list)  # known failures, listed apart so they cannot hide

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
    known = [
        f"{row['case']}：已知未通过（{row['known_failing']}）"
        + (
            f"，本次未通过：{'、'.join(failed_gates(row))}"
            if failed_gates(row)
            else "，本次已全部通过，可去掉标记"
        )
        for row in current.rows
        if row.get("known_failing")
    ]
    if baseline is None:
        return Comparison(regressions, notes, table, known)
    for row in current.rows:
        old = baseline.row(row["case"])
        if row.get("known_failing"):
            continue  # listed in ``known``; its failures are not regressions, and cannot hide either
        if old is None:
            notes.append(f"{row['case']}：基线中没有此用例（新增）")
            if row["error"] or failed_gates(row):
                why = row["error"] or "、".join(failed_gates(row))
                regressions.append(f"{row['case']}：新增用例未通过门槛（{why}），且未标为 known_failing")
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
    return Comparison(regressions, notes, table, known)


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
