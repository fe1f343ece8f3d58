"""The HTML report of a run against its baseline: summary table, then each case's drafts side by side with
the failing checks' snippets marked."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from . import metrics
from .runs import Comparison, Run

# ------------------------------------------------------------------------------------------- HTML report
_MARK_KEYS = {
    "leftovers": lambda d: [f["text"] for f in d.get("found", [])],
    "numbers": lambda d: [u["text"] for u in d.get("unsupported", [])],
    "numbering": lambda d: d.get("marks", []),
    "numbering_style": lambda d: d.get("marks", []),
    "copying": lambda d: (
        [d["span"]] if d.get("span") and d.get("longest_span", 0) > metrics.COPY_SPAN_CEILING else []
    ),
    "topicality": lambda d: (
        [s for ss in (d.get("off_topic") or {}).values() for s in ss] + list(d.get("off_topic_general") or [])
    ),
    "foreign": lambda d: [w for f in d.get("found", []) for w in f.get("words", [])],
    "tifa": lambda d: [h["wrong"] for h in d.get("hits", [])],
    "document_copy": lambda d: (
        [d["span"]] if d.get("span") and d.get("longest_run", 0) > metrics.COPY_SPAN_CEILING else []
    ),
    "formula_fit": lambda d: [p.split("“", 1)[-1].rstrip("”") for p in d.get("problems", [])],
    "voice": lambda d: list(d.get("found", [])),
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
mark{background:#ffd24d}mark.leftovers{background:#ff9e9e}mark.numbers{background:#ffb3e6}mark.copying{background:#b3d9ff}mark.topicality{background:#ffcc99}mark.foreign{background:#ff99cc}mark.tifa{background:#ff6666}mark.document_copy{background:#99ccff}
.known{color:#a60}
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
    if comparison.known:
        parts.append("<h2 class=known>已知未通过的用例（不计为回归，须逐一解决）</h2><ul>")
        parts += [f"<li class=known>{e(k)}</li>" for k in comparison.known]
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
