"""Numbers in a draft: what counts as a number (the single definition the guard shares), the values a
request supports, and the numbers check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...numerals import from_chinese
from ...records import DraftRequest
from .result import MetricResult, _result
from .text import _CN_NUM, _FULLWIDTH, _ITEM, _L1, _L2, _L3, _L4, _SENTENCE_END, _Text, bigrams, share_in

# --------------------------------------------------------------------------------------- fixed numerals
_ORDINAL_PATTERNS = [
    rf"第[{_CN_NUM}\d]+",  # ordinals: 第一, 第13次
    rf"[{_CN_NUM}]+届[{_CN_NUM}]*中?全会",
    rf"[{_CN_NUM}\d]+届[{_CN_NUM}\d]+次",
    rf"[{_CN_NUM}]+次(?:全会|全体会议|党代会|代表大会)",
    rf"[{_CN_NUM}\d]+大(?:精神|报告|以来|代表)",
]


@lru_cache(maxsize=8)
def fixed_numerals(prompts_dir: str) -> tuple[str, ...]:
    """The allow-list of political numerals (names, not statistics) from ``prompts/fixed_numerals.txt``."""
    path = Path(prompts_dir) / "fixed_numerals.txt"
    if not path.is_file():
        return ()
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        term = line.split("#", 1)[0].strip()
        if term:
            terms.append(term)
    return tuple(sorted(terms, key=len, reverse=True))


# ----------------------------------------------------------------------------------------------- numbers
def cn_to_number(s: str) -> float | None:
    """一 -> 1, 二十四 -> 24, 三百五十 -> 350, 六万 -> 60000, 二〇二三 -> 2023; None if not a numeral."""
    if not s:
        return None
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    if all(c in digits for c in s):
        if len(s) == 1:
            return float(digits[s])
        return float("".join(str(digits[c]) for c in s))  # 二〇二三
    units = {"十": 10, "百": 100, "千": 1000}
    big = {"万": 10_000, "亿": 100_000_000}
    total, section, number = 0, 0, 0
    for c in s:
        if c in digits:
            number = digits[c]
        elif c in units:
            section += (number or 1) * units[c]
            number = 0
        elif c in big:
            section += number
            total += (section or 1) * big[c]
            section, number = 0, 0
        else:
            return None
    return float(total + section + number)


def _fmt(value: float, percent: bool = False) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text + ("%" if percent else "")


_MEASURE = (
    "个|场次|人次|余人|余名|多名|多人|名|人|场|次|项|家|条|批|期|支|所|类|种|方面|点|年|月|日|天|轮|篇|件|"
    "户|村|位|份|元|倍|成|处|座|台|套|本|间|亩|公里|小时|周|季度|次数|个百分点|百分点|组|队|册|部"
)
_ARABIC = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(%|万|亿)?")
_CN_MEASURED = re.compile(rf"(?<![{_CN_NUM}])([{_CN_NUM}]+)(?:多|余)?(?:{_MEASURE})")
_CN_PERCENT = re.compile(rf"百分之([{_CN_NUM}]+(?:点[{_CN_NUM}]+)?)")
_CN_ANY = re.compile(rf"[{_CN_NUM}]+")


def _arabic_value(number: str, unit: str | None) -> str:
    value = float(number)
    if unit == "%":
        return _fmt(value, percent=True)
    if unit == "万":
        value *= 10_000
    elif unit == "亿":
        value *= 100_000_000
    return _fmt(value)


def _cn_value(numeral: str) -> float | None:
    if set(numeral) <= set("十百千万亿"):  # 万家, 千方百计: words, not counts
        return None
    return cn_to_number(numeral)


def number_values(text: str) -> set[str]:
    """Every number a supporting text states, Arabic or Chinese, as canonical strings (``95%``, ``24``)."""
    text = text.translate(_FULLWIDTH)
    values = {_arabic_value(m.group(1), m.group(2)) for m in _ARABIC.finditer(text)}
    values |= {_fmt(float(m.group(1))) for m in _ARABIC.finditer(text)}  # 4.2万 also supports 4.2
    for m in _CN_PERCENT.finditer(text):
        value = cn_to_number(m.group(1).split("点")[0])
        if value is not None:
            values.add(_fmt(value, percent=True))
    for m in _CN_ANY.finditer(text):
        value = _cn_value(m.group(0))
        if value is not None:
            values.add(_fmt(value))
    return values


@dataclass
class NumberMention:
    text: str  # as written in the draft
    value: str  # canonical
    line: int  # index of the body line
    sentence: str  # shown (its first 80 characters)
    context: str = ""  # the words around the number within its sentence, what the number is said of


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars_ = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars_[i] = "\u3000"
    return "".join(chars_)


def line_numbers(line: str, allowed_terms: tuple[str, ...] = ()) -> list[tuple[int, int, str, str]]:
    """The numbers one line states, as ``(start, end, shown, value)`` sorted by position: ``start:end`` spans
    the numeral itself in ``line`` (a measure word after it is left out), ``shown`` is the text as written
    (with its measure word), ``value`` the canonical figure. Numbering markers (``一、`` ``（一）`` ``一是``),
    ordinals (第一) and the fixed terms in ``allowed_terms`` are not numbers. This is the single definition of
    "a number in a draft": the numbers check and the drafting guard (``adapt``) both use it."""
    line = line.translate(_FULLWIDTH)
    spans = []
    for pattern in (_L1, _L2, _L3, _L4):
        m = pattern.match(line)
        if m:
            spans.append((0, m.end()))
            break
    spans += [(m.start(1), m.end(0)) for m in _ITEM.finditer(line)]
    for term in allowed_terms:
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(term), line)]
    for pattern in _ORDINAL_PATTERNS:
        spans += [(m.start(), m.end()) for m in re.finditer(pattern, line)]
    masked = _mask(line, spans)
    found: list[tuple[int, int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _CN_PERCENT.finditer(masked):
        value = cn_to_number(m.group(1).split("点")[0])
        if value is not None:
            found.append((m.start(), m.end(), m.group(0), _fmt(value, percent=True)))
            taken.append(m.span())
    for m in _ARABIC.finditer(masked):
        found.append((m.start(), m.end(), m.group(0).strip(), _arabic_value(m.group(1), m.group(2))))
    for m in _CN_MEASURED.finditer(masked):
        if any(a <= m.start() < b for a, b in taken):
            continue
        numeral = m.group(1)
        value = _cn_value(numeral)
        if value is None or (value == 1 and numeral == "一"):  # 一个、一次: an article, not a figure
            continue
        found.append((m.start(1), m.end(1), line[m.start() : m.end()], _fmt(value)))
    return sorted(found)


def request_support(request: DraftRequest | None, extra: list[str] | None = None) -> set[str]:
    """The canonical numbers a draft may state: those in the request's fields and materials (and ``extra``)."""
    texts = list(extra or [])
    if request is not None:
        texts += [
            request.topic,
            request.unit,
            request.occasion,
            request.audience,
            *request.points,
            *request.materials,
        ]
    return number_values("\n".join(texts))


_WRITER_GAP_RE = re.compile(r"【待补[：:][^】]*】")
_TITLE_RE = re.compile(r"《[^《》\n]{1,60}》")


def number_mentions(lines: list[str], allowed_terms: tuple[str, ...]) -> list[NumberMention]:
    """Numbers stated in the draft's body lines, with numbering markers, ordinals and fixed terms removed."""
    out: list[NumberMention] = []
    for index, original in enumerate(lines):
        raw = original
        # a 【待补：…】 is the writer's to-do (“这3座水库的名称”), not a claim; a 【核实：…】 still counts
        raw = _WRITER_GAP_RE.sub(lambda m: "【" + " " * (len(m.group(0)) - 2) + "】", raw)
        # a document's name (《医疗机构工作人员廉洁从业九项准则》) is a name, not a figure the draft claims; whose
        # document it is, is the guard's question (【核实】), not this check's
        raw = _TITLE_RE.sub(lambda m: "《" + " " * (len(m.group(0)) - 2) + "》", raw)
        line = raw.translate(_FULLWIDTH)
        text = original.translate(_FULLWIDTH)  # the same length: the masks only blank characters
        for start, _end, shown, value in line_numbers(line, allowed_terms):
            left = max(line.rfind(c, 0, start) for c in _SENTENCE_END) + 1
            right = min(
                (i for i in (line.find(c, start) for c in _SENTENCE_END) if i >= 0), default=len(line)
            )
            near = text[max(left, start - 40) : min(right + 1, _end + 40)]
            out.append(NumberMention(shown, value, index, text[left : right + 1][:80], near))
    return out


def structural_counts(lines: list[str]) -> set[str]:
    """Counts the draft states about itself (讲四点意见, 三个方面): level-1 headings and 一是 group sizes."""
    counts = {sum(1 for line in lines if _L1.match(line))}
    for line in lines:
        ks = [from_chinese(m.group(1)) or 0 for m in _ITEM.finditer(line)]
        if ks:
            counts.add(max(ks))
    return {_fmt(float(c)) for c in counts if c}


def check_numbers(
    text: _Text, request: DraftRequest | None, allowed: tuple[str, ...], extra: list[str]
) -> MetricResult:
    mentions = number_mentions(text.body, allowed)
    if request is None and not extra:
        shown = "、".join(dict.fromkeys(m.text for m in mentions[:8]))
        return _result(
            "numbers",
            None,
            None,
            f"没有起草要求和材料，无法核对数字来源（正文含 {len(mentions)} 处数字：{shown}）",
            numbers=[m.text for m in mentions],
        )
    supported_values = request_support(request, extra)
    sources = number_sources(request, extra)
    structure_counts = structural_counts(text.body)
    unsupported = []
    coincidences = []
    for m in mentions:
        if m.value in structure_counts and re.search(r"点|方面|个", m.text):
            continue
        if m.value not in supported_values:
            unsupported.append({"text": m.text, "value": m.value, "sentence": m.sentence})
        elif not any(m.value in values and context_shared(src, m.context) for src, values in sources):
            # the value is in the materials, but the sentence says nothing of the fact that carries it
            coincidences.append({"text": m.text, "value": m.value, "sentence": m.sentence})
    if unsupported or coincidences:
        bad = unsupported + coincidences
        shown = "、".join(dict.fromkeys(u["text"] for u in bad[:6]))
        reason = f"{len(bad)} 处数字在要求和材料中找不到出处：{shown}"
        if coincidences:
            c = coincidences[0]
            reason += f"（其中 {len(coincidences)} 处只是数值相同，所在句与含该数字的材料句无关，如“{c['sentence'][:24]}…”）"
        unsupported = bad
        value = 1 - len(unsupported) / max(len(mentions), 1)
        return _result(
            "numbers",
            value,
            False,
            reason,
            unsupported=unsupported,
            coincidences=coincidences,
            total=len(mentions),
        )
    reason = f"{len(mentions)} 处数字都有出处" if mentions else "正文没有具体数字"
    return _result("numbers", 1.0, True, reason, unsupported=[], total=len(mentions))


CONTEXT_SHARE = 0.25  # a draft sentence uses a material figure when it carries this share of its wording


def number_sources(request: DraftRequest | None, extra: list[str]) -> list[tuple[str, set[str]]]:
    """Each sentence that may carry a figure (a request field, a material sentence) with its values."""
    texts = list(extra)
    if request is not None:
        texts += [request.topic, request.unit, request.occasion, request.audience, *request.points]
        for material in request.materials:
            texts += [x for x in re.split(r"(?<=[。！？；!?;])|\n", material) if x.strip()]
    return [(t, number_values(t)) for t in texts if t and t.strip()]


def context_shared(source: str, sentence: str) -> bool:
    """Whether ``sentence`` says something of ``source`` beyond the number: a share of its character
    bigrams (digits and measure words aside), or the whole of a short source (a topic, a point)."""
    plain = re.sub(r"[\d.%％]+", "", source)
    grams = bigrams(plain)
    if not grams:
        return True
    return share_in(grams, bigrams(sentence)) >= CONTEXT_SHARE
