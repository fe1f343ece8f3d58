"""The library's checks of a finished draft, run once per draft text.

The pipeline scores a draft for the warnings it hands the writer; the web page shows the same scorecard as
its checklist. Scoring reads the index's corpus view and judges every sentence (a few seconds on two cores),
so a card is kept for the few drafts last scored: the page asks for the card the pipeline has just made,
and gets it without a second pass. A card is tied to the draft's text and request, the prompts folder and the
index generation, so an edit, a re-ingest or another template set scores afresh.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from ..doctypes import DocType
from ..errors import UserError
from ..records import Draft
from ..settings import Settings

log = logging.getLogger(__name__)

_KEEP = 8  # cards kept (one web page holds one draft at a time; a few pages may be open)
_CARDS: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()


def scorecard(draft: Draft, doctype: DocType, settings: Settings) -> Any:
    """``evals.metrics.score_draft`` of ``draft`` with the library's own checks (他单位内容, 整篇照抄) when an
    index is at hand; ``UserError`` when a check cannot run."""
    from ..content.topicality import judge_for
    from ..evals import metrics
    from ..index.corpus_view import open_view

    view = open_view(settings)
    key = (
        draft.text,
        draft.doc_type,
        repr(draft.request),
        draft.generator.get("backend"),
        str(settings.prompts_dir),
        str(settings.index_dir),
        view.generation if view else None,
    )
    with _LOCK:
        if key in _CARDS:
            _CARDS.move_to_end(key)
            return _CARDS[key]
    card = metrics.score_draft(
        draft,
        doctype,
        draft.request,
        prompts_dir=settings.prompts_dir,
        corpus=view,
        judge=judge_for(settings, view.stats if view else None),
    )
    with _LOCK:
        _CARDS[key] = card
        while len(_CARDS) > _KEEP:
            _CARDS.popitem(last=False)
    return card


def check_draft(draft: Draft, doctype: DocType, settings: Settings) -> list[str]:
    """Warnings a writer should see: gaps to fill, names and figures to verify, and the failed checks."""
    warnings: list[str] = []
    gaps = draft.text.count("【待补")
    if gaps:
        warnings.append(f"草稿中有 {gaps} 处“【待补：…】”，请补充实际情况和数据后再使用。")
    checks = draft.text.count("【核实")
    if checks:
        warnings.append(f"草稿中有 {checks} 处“【核实：…】”：材料中没有这些名称或数字，请逐一核实后删改。")
    try:
        card = scorecard(draft, doctype, settings)
    except UserError as exc:  # a check that cannot run must not cost the writer the draft
        return [*warnings, f"自动检查未能完成：{exc}"]
    # a model's draft is its own wording: how much of it is found in the corpus is no check of it
    skip = {"length", "points"} | ({"grounding"} if draft.generator.get("backend") != "composer" else set())
    for result in card.failures():
        if result.name in skip or not result.reason:
            continue
        warnings.append(f"检查未通过（{result.label or result.name}）：{result.reason}")
    return warnings


def warm(settings: Settings) -> None:
    """Load what the first draft of a server would otherwise pay for: the corpus view with its word
    statistics (jieba, the public collection), the sentence judge with its probes embedded, the public
    collection's sentence index. Nothing is raised (a missing index is reported at the first draft)."""
    from ..content import public
    from ..content.topicality import judge_for
    from ..index.corpus_view import open_view

    try:
        view = open_view(settings)
        judge = judge_for(settings, view.stats if view else None)
        judge.judge(["要压实工作责任，确保各项任务落到实处。"], "压实工作责任", "工作")
        public.collection()
    except Exception as exc:  # noqa: BLE001 - a warm-up must never take the server down
        log.info("drafting warm-up skipped: %s", exc)
