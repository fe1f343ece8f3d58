"""Running the evals: draft every case (or read existing drafts), score each, and write the run folder."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..doctypes import load_doctypes
from ..errors import InputError, UserError
from ..records import Draft, DraftRequest
from ..settings import Settings
from . import metrics
from .cases import DRAFT_SUFFIXES, EvalCase, read_draft_file
from .judge import judge_draft
from .runs import Run, error_row, new_run_dir, prompt_hashes, row_for, write_run


# ---------------------------------------------------------------------------------------------- scoring
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


def add_sameness(rows: list[dict[str, Any]], texts: dict[str, str], topics: dict[str, str]) -> None:
    """Add each row's share of sentences that also appear in a case of another topic (scored, no gate)."""
    from .checks.copying import sameness
    from .checks.result import METRIC_LABELS

    found = sameness(texts, topics)
    for row in rows:
        entry = found.get(row["case"])
        if entry is None:
            continue
        share = float(entry["value"])
        row["metrics"]["sameness"] = {
            "name": "sameness",
            "value": round(1 - share, 4),
            "passed": None,
            "reason": f"{entry['shared']}/{entry['total']} 句与其他主题的用例逐字相同（{share:.0%}）",
            "details": entry,
            "label": METRIC_LABELS["sameness"],
            "gate": False,
        }


def score_case(
    case: EvalCase, draft: Draft | str, settings: Settings, markdown: bool = False
) -> metrics.Scorecard:
    from ..content.topicality import judge_for
    from ..index.corpus_view import open_view

    view = open_view(settings)
    return metrics.score_draft(
        draft,
        case.doc_type,
        request=case.request,
        aliases=case.aliases,
        prompts_dir=settings.prompts_dir,
        markdown=markdown,
        corpus=view,
        judge=judge_for(settings, view.stats if view else None),
        must_use=case.must_use,
    )


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
) -> Run:
    """Draft and score every case; write and return the run folder."""
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
        rows.append(row_for(case.id, case.doc_type, card, f"drafts/{case.id}.json", case.known_failing))
        if judge or judge_gate:
            add_judge(rows[-1], draft, case.request, settings, judge_gate)
    add_sameness(rows, {c: d.text for c, d in drafts.items()}, {c.id: c.request.topic for c in cases})
    params = {
        "created": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "mode": "draft",
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


def _catalog_titles(folder: Path) -> dict[str, str]:
    catalog = folder / "catalog.yaml"
    if not catalog.is_file():
        return {}
    try:
        data = yaml.safe_load(catalog.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return {}
    return {Path(k).stem: str(v["title"]) for k, v in data.items() if isinstance(v, dict) and v.get("title")}


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
    titles = _catalog_titles(folder)
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
            from ..content.topicality import judge_for
            from ..index.corpus_view import open_view

            view = open_view(settings)
            card = metrics.score_draft(
                draft,
                kind,
                prompts_dir=settings.prompts_dir,
                markdown=markdown,
                corpus=view,
                judge=judge_for(settings, view.stats if view else None),
                topic=titles.get(stem),
            )
        rows.append(row_for(stem, kind, card, path.name, case.known_failing if case else ""))
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
