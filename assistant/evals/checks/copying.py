"""Copying: the longest stretch copied from one retrieved passage, and from any one whole corpus document
(``document_copy``: the share of the draft in runs of 20+ identical characters); sameness across an eval
run's drafts of different topics."""

from __future__ import annotations

import re

from .result import MetricResult, _result
from .text import COPY_NGRAM, COPY_SPAN_CEILING, _Text, ngrams


def longest_common_span(a: str, b: str, floor: int = COPY_NGRAM) -> str:
    """The longest substring of ``a`` that also occurs in ``b`` (binary search on length; '' if < floor)."""
    if len(a) < floor or len(b) < floor:
        return ""

    def common(length: int) -> str:
        grams = {b[i : i + length] for i in range(len(b) - length + 1)}
        for i in range(len(a) - length + 1):
            if a[i : i + length] in grams:
                return a[i : i + length]
        return ""

    best = common(floor)
    if not best:
        return ""
    lo, hi = floor, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        found = common(mid)
        if found:
            best, lo = found, mid
        else:
            hi = mid - 1
    return best


def check_copying(text: _Text, passages: list[tuple[str, str]]) -> MetricResult:
    if not passages:
        return _result("copying", None, None, "没有检索到的范文段落，不检查照抄")
    draft = re.sub(r"\s", "", text.body_text)
    grams = ngrams(draft, COPY_NGRAM)
    if not grams:
        return _result("copying", None, None, "正文太短，不检查照抄")
    best_share, best_label, best_span, span_label = 0.0, "", "", ""
    for label, passage in passages:
        source = re.sub(r"\s", "", passage)
        source_grams = set(ngrams(source, COPY_NGRAM))
        share = sum(1 for g in grams if g in source_grams) / len(grams)
        if share > best_share:
            best_share, best_label = share, label
        if share:
            span = longest_common_span(draft, source)
            if len(span) > len(best_span):
                best_span, span_label = span, label
    passed = len(best_span) <= COPY_SPAN_CEILING
    reason = f"最长照抄 {len(best_span)} 字"
    if best_span:
        reason += f"（来自 {span_label}）"
    reason += f"；单一范文的 8 字片段占正文 {best_share:.0%}"
    if not passed:
        reason = f"照抄过长：连续 {len(best_span)} 字与范文相同（上限 {COPY_SPAN_CEILING} 字）；" + reason
    return _result(
        "copying",
        1 - best_share,
        passed,
        reason,
        copy_rate=round(best_share, 4),
        copy_source=best_label,
        longest_span=len(best_span),
        span=best_span[:400],
        span_source=span_label,
    )


DOC_RUN = 20  # a run of at least this many characters identical to one corpus document counts as copied


def _runs(draft: str, source: str, n: int = DOC_RUN) -> list[tuple[int, int]]:
    """Stretches of ``draft`` (start, end) that appear verbatim in ``source``, each at least ``n`` long.
    A stretch is a chain of overlapping n-grams that are all in the source (an upper bound on a single
    contiguous copy, exact for the common case)."""
    if len(draft) < n or len(source) < n:
        return []
    grams = {source[i : i + n] for i in range(len(source) - n + 1)}
    runs, start = [], None
    for i in range(len(draft) - n + 1):
        if draft[i : i + n] in grams:
            if start is None:
                start = i
            end = i + n
        elif start is not None:
            runs.append((start, end))
            start = None
    if start is not None:
        runs.append((start, end))
    return runs


def own_document(draft_text: str, corpus: dict[str, str], share: float = 0.9) -> str | None:
    """The corpus document a text *is* (a seed scored as a draft of its own type), else None."""
    plain = re.sub(r"\s", "", draft_text)
    for doc_id, text in corpus.items():
        runs = _runs(plain, re.sub(r"\s", "", text), 40)
        if plain and sum(e - s for s, e in runs) / len(plain) >= share:
            return doc_id
    return None


def check_document_copy(
    text: _Text,
    corpus: dict[str, str] | None,
    titles: dict[str, str] | None = None,
    skip: set[str] | None = None,
) -> MetricResult:
    """Share of the draft's characters in runs of ≥ 20 characters identical to any one corpus document,
    and the longest such run (the 200-character ceiling, against whole documents)."""
    if not corpus:
        return _result("document_copy", None, None, "没有范文库索引，不检查整篇照抄")
    draft = re.sub(r"\s", "", text.body_text)
    if not draft:
        return _result("document_copy", None, None, "正文为空")
    best_share, best_doc, longest, longest_doc, span = 0.0, "", 0, "", ""
    for doc_id, source in corpus.items():
        if skip and doc_id in skip:
            continue
        runs = _runs(draft, re.sub(r"\s", "", source))
        if not runs:
            continue
        covered = sum(e - s for s, e in runs) / len(draft)
        if covered > best_share:
            best_share, best_doc = covered, doc_id
        s, e = max(runs, key=lambda r: r[1] - r[0])
        if e - s > longest:
            longest, longest_doc, span = e - s, doc_id, draft[s:e]
    name = (titles or {}).get(best_doc, best_doc)
    passed = longest <= COPY_SPAN_CEILING
    reason = (
        f"正文 {best_share:.0%} 的字与《{name}》连续 {DOC_RUN} 字以上相同；最长连续相同 {longest} 字"
        if best_doc
        else "没有与范文连续 20 字以上相同的文字"
    )
    if not passed:
        reason = (
            f"照抄过长：连续 {longest} 字与《{(titles or {}).get(longest_doc, longest_doc)}》相同（上限 {COPY_SPAN_CEILING} 字）；"
            + reason
        )
    return _result(
        "document_copy",
        1 - best_share,
        passed,
        reason,
        copy_share=round(best_share, 4),
        copy_doc=best_doc,
        longest_run=longest,
        longest_doc=longest_doc,
        span=span[:400],
    )


def sentence_keys(text: str, exempt: set[str] | None = None) -> set[str]:
    """A draft's sentences as comparable keys (characters only, 12+ long), formulas and gaps left out."""
    from .body import GAP_RE

    keys = set()
    for sentence in re.split(r"(?<=[。！？；!?;])|\n", text):
        if GAP_RE.search(sentence):
            continue
        key = "".join(c for c in sentence if c.isalnum())
        if len(key) >= 12 and (not exempt or key not in exempt):
            keys.add(key)
    return keys


def sameness(texts: dict[str, str], topics: dict[str, str]) -> dict[str, dict[str, object]]:
    """Per case: the share of its sentences that also appear word for word in a case of another topic."""
    keys = {case: sentence_keys(text) for case, text in texts.items()}
    out: dict[str, dict[str, object]] = {}
    for case, mine in keys.items():
        others = set().union(*(k for c, k in keys.items() if c != case and topics.get(c) != topics.get(case)))
        shared = sorted(mine & others)
        out[case] = {
            "value": round(len(shared) / len(mine), 4) if mine else 0.0,
            "shared": len(shared),
            "total": len(mine),
            "examples": shared[:5],
        }
    return out
