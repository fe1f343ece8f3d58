"""Coverage checks: key points written to, sentences grounded in the retrieved passages, citations that
support their paragraphs, repetition."""

from __future__ import annotations

from collections import Counter

from ...records import Draft, DraftRequest
from .result import MetricResult, _result
from .text import (
    _ITEM,
    _PLACEHOLDER,
    CITATION_BIGRAM_SHARE,
    GROUNDED_BIGRAM_SHARE,
    MIN_SENTENCE_CHARS,
    POINT_BIGRAM_SHARE,
    REPEAT_NGRAM,
    _Text,
    bigrams,
    chars,
    ngrams,
    share_in,
    split_sentences,
)


def _covered(
    point: str, aliases: list[str], sentences: list[str], sentence_grams: list[set[str]]
) -> str | None:
    """The sentence that covers ``point`` (or one of its aliases), else None."""
    for phrase in [point, *aliases]:
        grams = bigrams(phrase)
        flat = chars(phrase)
        for sentence, grams_s in zip(sentences, sentence_grams, strict=True):
            if flat and flat in chars(sentence):
                return sentence
            if grams and share_in(grams, grams_s) >= POINT_BIGRAM_SHARE:
                return sentence
    return None


def check_points(
    text: _Text, request: DraftRequest | None, aliases: dict[str, list[str]] | None
) -> MetricResult:
    points = list(request.points) if request else []
    if not points:
        return _result("points", None, None, "起草要求中没有要点，不检查覆盖")
    sentences = split_sentences(text.body_text)
    grams = [bigrams(s) for s in sentences]
    covered, missing = {}, []
    for point in points:
        hit = _covered(point, (aliases or {}).get(point, []), sentences, grams)
        if hit:
            covered[point] = hit[:60]
        else:
            missing.append(point)
    value = len(covered) / len(points)
    if missing:
        reason = f"覆盖 {len(covered)}/{len(points)} 个要点，未写到：" + "、".join(missing)
    else:
        reason = f"{len(points)} 个要点全部写到"
    return _result("points", value, not missing, reason, covered=covered, missing=missing)


def check_grounding(text: _Text, passages: list[tuple[str, str]]) -> MetricResult:
    if not passages:
        return _result("grounding", None, None, "没有检索到的范文段落，不检查依据")
    source_grams = [bigrams(t) for _, t in passages]
    sentences = [s for s in split_sentences(text.body_text) if len(chars(s)) >= MIN_SENTENCE_CHARS]
    if not sentences:
        return _result("grounding", None, None, "正文没有可检查的句子")
    grounded = 0
    ungrounded = []
    for sentence in sentences:
        grams = bigrams(sentence)
        if any(share_in(grams, g) >= GROUNDED_BIGRAM_SHARE for g in source_grams):
            grounded += 1
        else:
            ungrounded.append(sentence[:60])
    value = grounded / len(sentences)
    reason = f"{grounded}/{len(sentences)} 句能在检索到的范文中找到依据（{value:.0%}）"
    return _result("grounding", value, value >= 0.5, reason, ungrounded=ungrounded[:20])


def _supports(paragraph: str, source_grams: set[str]) -> bool:
    """A source supports a paragraph when it grounds at least one of the paragraph's sentences."""
    sentences = [x for x in split_sentences(paragraph) if len(chars(x)) >= MIN_SENTENCE_CHARS] or [paragraph]
    return any(share_in(bigrams(x), source_grams) >= CITATION_BIGRAM_SHARE for x in sentences)


def check_citations(draft: Draft | None) -> MetricResult:
    if draft is None or not any(p.sources for s in draft.sections for p in s.paragraphs):
        return _result("citations", None, None, "正文没有标注来源，不检查引用")
    by_number = {s.number: s for s in draft.sources}
    pairs, supported, bad = 0, 0, []
    for section in draft.sections:
        for paragraph in section.paragraphs:
            for number in paragraph.sources:
                pairs += 1
                source = by_number.get(number)
                if source is not None and source.text and _supports(paragraph.text, bigrams(source.text)):
                    supported += 1
                else:
                    bad.append({"source": number, "paragraph": paragraph.text[:60]})
    value = supported / pairs if pairs else 1.0
    reason = f"{supported}/{pairs} 处来源标注与所标段落内容相符"
    if bad:
        reason += f"；[{bad[0]['source']}] 不支持“{bad[0]['paragraph'][:20]}…”"
    return _result("citations", value, value >= 0.8, reason, unsupported=bad)


def check_repetition(text: _Text) -> MetricResult:
    # compare sentences without a leading 一是/二是, so "一是A。A。" counts as a repeat
    body = _PLACEHOLDER.sub("", text.body_text)  # a repeated 【待补：…】 note is a leftover, not prose
    sentences = [
        chars(_ITEM.sub("", s, count=1) if _ITEM.match(s) else s) for s in split_sentences(body, colon=True)
    ]
    sentences = [s for s in sentences if len(s) >= MIN_SENTENCE_CHARS]
    counts = Counter(sentences)
    duplicates = [s for s, c in counts.items() if c > 1]
    flat = chars(text.body_text)
    grams = ngrams(flat, REPEAT_NGRAM)
    gram_counts = Counter(grams)
    repeated = sum(c for c in gram_counts.values() if c > 2) / len(grams) if grams else 0.0
    value = 1 - repeated
    passed = not duplicates and repeated <= 0.25
    reason = f"重复句 {len(duplicates)} 个；出现三次以上的 4 字片段占 {repeated:.0%}"
    if duplicates:
        reason += f"（如“{duplicates[0][:20]}…”）"
    return _result(
        "repetition",
        value,
        passed,
        reason,
        duplicates=duplicates[:10],
        repeated_4gram_rate=round(repeated, 4),
    )
