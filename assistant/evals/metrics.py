"""Offline, deterministic structure and coverage metrics for 公文 drafts (the eval suite and the UI checklist).

Every metric reads the draft as plain text, so a Draft object, a Markdown export and a real document from the
corpus are judged the same way; a Draft only adds its sources (for grounding and citations) and its request.
Numbering, formulas and leftovers use a light line-level analysis of their own (robust to whatever the
section parser makes of odd headings); section roles come from ``structure.parse_text``. Similarity is
measured on character n-grams (bigrams for coverage, 8-grams for copying) rather than on words: no
segmenter, no model, and the same number every run — at the price of missing paraphrases, which is why
key points can carry aliases. Each check returns a value in 0..1 (higher is better) with a Chinese reason;
``gate`` checks are the hard requirements a draft must meet, the others are reported scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..content import occasions, tifa, words
from ..content.topicality import Judge
from ..doctypes import DocType, get_doctype
from ..records import Draft, DraftRequest
from .checks.body import read_body
from .checks.content import check_facts, check_foreign, check_topicality
from .checks.copying import (  # noqa: F401 - public
    COPY_SPAN_CEILING,
    check_copying,
    check_document_copy,
    longest_common_span,
    own_document,
)
from .checks.coverage import check_citations, check_grounding, check_points, check_repetition
from .checks.language import check_formula_fit, check_tifa, check_voice
from .checks.numbers import (  # noqa: F401 - public
    check_numbers,
    cn_to_number,
    fixed_numerals,
    line_numbers,
    number_values,
    request_support,
)
from .checks.result import GATES, METRIC_LABELS, NOT_GATES_FOR_COMPOSER, ROLE_LABELS, MetricResult, Scorecard  # noqa: F401 - public
from .checks.structure import (
    check_formulas,
    check_leftovers,
    check_length,
    check_numbering,
    check_order,
    check_sections,
    top_blocks,
)
from .checks.text import _input, bigrams, chars, share_in, split_sentences, split_text  # noqa: F401 - public


# ----------------------------------------------------------------------------------------------- scoring
def score_draft(
    draft_or_text: Draft | str,
    doctype: DocType | str,
    request: DraftRequest | None = None,
    passages: Any = None,
    *,
    aliases: dict[str, list[str]] | None = None,
    prompts_dir: Path | None = None,
    markdown: bool = True,
    corpus: Any = None,
    judge: Judge | None = None,
    must_use: dict[str, list[str]] | None = None,
    occasion_class: str | None = None,
    topic: str | None = None,
    fact_labels: list[dict] | None = None,
) -> Scorecard:
    """Score a draft (a ``Draft`` or its text) against its type's schema, its request, its sources and the
    corpus.

    ``passages``: retrieved ``Passage`` objects, ``Source`` objects or plain texts (default: the draft's own
    sources). ``aliases``: other wordings that count as covering a key point. ``markdown``: strip Markdown
    markers before checking (set False for text that should read as it will in Word, so markers count as
    leftovers). ``corpus``: the index's ``CorpusView`` (texts, titles, lexicon) for foreign context and
    document-level copying (without it those checks do not apply). ``judge``: the topicality judge (default:
    words only, over the corpus's word statistics). ``must_use``: per key point, words its part must use
    (eval cases). ``occasion_class``: default from the draft's outline or the request. ``topic``: what
    the body is measured against (default: the request's topic, else the title of the corpus document the
    text is, else its first line).
    """
    if isinstance(doctype, str):
        from ..settings import load_settings

        doctype = get_doctype(doctype, prompts_dir or load_settings().prompts_dir)
    prompts_root = Path(prompts_dir) if prompts_dir else Path(doctype.path).resolve().parent.parent.parent
    data = _input(draft_or_text, request, passages)
    outline = data.draft.outline if data.draft is not None else None
    if outline is not None and outline.skeleton:
        doctype = doctype.with_skeleton(outline.skeleton)
        # the parts the skeleton gained for the writer's points or facts (``joins``) are judged in order
        doctype = doctype.joined(
            {i.role for i in outline.items if i.key not in {s.key for s in doctype.sections}}
        )
    text = split_text(data.text, markdown=markdown and data.draft is None)
    blocks, method = top_blocks(text.body_text, doctype)
    numbering, numbering_style = check_numbering(text.body)
    allowed = fixed_numerals(str(prompts_root))
    req = data.request
    if occasion_class is None:
        occasion_class = outline.occasion_class if outline is not None else ""
        if not occasion_class:
            cue = (req.occasion + " " + req.topic) if req else " ".join(text.front)
            occasion_class = occasions.classify(cue, path=prompts_root / "occasions.yaml")
    texts = corpus.texts if corpus is not None else None
    own = own_document(text.body_text, texts) if texts and data.draft is None else None
    skip = {own} if own else set()
    stats = corpus.stats if corpus is not None else None
    judge = judge or Judge(None, stats or words.public_stats())
    if topic is None:
        topic = req.topic if req else (text.front[0] if text.front else "")
        if own and corpus is not None and not req:
            topic = corpus.titles.get(own, topic)
    body = read_body(text.body_text, doctype, req, doctype.connectives)
    year = (req.year if req else None) or (tifa.document_year(data.text) if req is None else None)
    results = [
        check_sections(blocks, doctype, method),
        check_order(blocks, doctype),
        numbering,
        numbering_style,
        check_formulas(text, doctype),
        check_length(text, doctype, req),
        check_leftovers(text),
        check_points(text, req, aliases),
        check_grounding(text, data.passages),
        check_citations(data.draft),
        check_numbers(text, req, allowed, []),
        check_copying(text, data.passages),
        check_repetition(text),
        check_topicality(body, judge, topic, must_use),
        check_foreign(body, corpus.lexicon if corpus is not None else None, req, skip, own),
        check_facts(body, req, fact_labels),
        check_document_copy(text, texts, corpus.titles if corpus is not None else None, skip),
        check_tifa(text, year, prompts_root / "tifa.yaml"),
        check_formula_fit(text, req, occasion_class, prompts_root / "occasions.yaml"),
        check_voice(body, doctype),
    ]
    composer = data.draft is not None and data.draft.generator.get("backend") == "composer"
    # a draft that leaves marked gaps for the writer is short by honesty, whoever wrote it
    if composer or "【待补" in text.body_text:
        for result in results:
            if result.name in NOT_GATES_FOR_COMPOSER:
                result.gate = False
    return Scorecard(doc_type=doctype.name, results=results)
