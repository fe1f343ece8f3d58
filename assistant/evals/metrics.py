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

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..doctypes import DocType, get_doctype
from ..numerals import from_chinese, to_chinese
from ..records import Draft, DraftRequest, ParsedDocument, Passage

# ---------------------------------------------------------------------------------------------- thresholds
POINT_BIGRAM_SHARE = 0.6  # a key point is covered by a sentence carrying this share of its bigrams
GROUNDED_BIGRAM_SHARE = 0.5  # a sentence is grounded when this share of its bigrams is in one passage
CITATION_BIGRAM_SHARE = 0.5  # a cited source supports a paragraph when one sentence has this share in it
COPY_NGRAM = 8
COPY_SPAN_CEILING = 200  # characters copied verbatim from one source in one stretch
REPEAT_NGRAM = 4
LENGTH_TOLERANCE = 0.3  # request.length ± 30 %
MIN_SENTENCE_CHARS = 8

CN_DIGITS = "零〇一二两三四五六七八九十"
_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")

# heading and item markers as written (standard and non-standard forms)
_L1 = re.compile(rf"^([{CN_DIGITS}]+)、")
_L2 = re.compile(rf"^([（(])([{CN_DIGITS}]+)([）)])(、?)")
_L3 = re.compile(r"^(\d{1,2})([.．、])(?!\d)")
_L4 = re.compile(r"^([（(])(\d{1,2})([）)])")
_ITEM = re.compile(rf"(?:^|(?<=[。；;：:！？!?，,\s]))([{CN_DIGITS}]{{1,3}})是(?=[^是])")
_SOURCE_MARK = re.compile(r"\[\d{1,3}\](?:\[\d{1,3}\])*")
_MD_PREFIX = re.compile(r"^(?:#{1,6}\s*|>\s+|[-*+]\s+)")
_SENTENCE_END = "。！？；!?;"
_CJK = re.compile(r"[\u4e00-\u9fff]")

_LEFTOVERS: list[tuple[str, re.Pattern[str]]] = [
    ("占位符 X/XX", re.compile(r"(?<![A-Za-z])(?:[XＸ]+|×{2,})(?![A-Za-z])")),
    ("星号 *", re.compile(r"\*+")),
    ("某某", re.compile(r"某某")),
    ("模板语法 {{ }} / {% %}", re.compile(r"\{\{|\}\}|\{%|%\}")),
    ("Markdown 标记", re.compile(r"^\s*(?:#{1,6}(?=\S|\s)|>\s|[-+]\s|```)", re.MULTILINE)),
    ("未填的空位", re.compile(r"【(?!待补：)[^】]{0,30}】|〔\s*〕|_{3,}|TODO|TBD|待填|待补充")),
]
_PLACEHOLDER = re.compile(r"【待补：[^】]*】")

ROLE_LABELS = {
    "opening": "开头",
    "background": "基本情况",
    "achievements": "主要成效/履职情况",
    "problems": "存在的问题",
    "causes": "原因分析",
    "measures": "对策建议/下一步打算",
    "requirements": "几点意见",
    "closing": "结尾",
    "other": "其他",
}

METRIC_LABELS = {
    "sections": "必备章节齐全",
    "order": "章节顺序",
    "numbering": "序号连续、层级正确",
    "numbering_style": "序号写法规范",
    "formulas": "开头语、结束语",
    "length": "篇幅",
    "leftovers": "无残留标记",
    "points": "要点覆盖",
    "grounding": "依据范文",
    "citations": "引用准确",
    "numbers": "数字有据",
    "copying": "照抄程度",
    "repetition": "重复",
    "judge": "大模型评审",  # optional, added by the eval suite (evals.judge_draft), never by score_draft
}
GATES = frozenset(
    {
        "sections",
        "order",
        "numbering",
        "numbering_style",
        "formulas",
        "length",
        "leftovers",
        "numbers",
        "copying",
    }
)


@dataclass
class MetricResult:
    name: str
    value: float | None  # 0..1, higher is better; None when the metric does not apply
    passed: bool | None  # None when there is nothing to decide
    reason: str  # Chinese, one line, shown in the checklist
    details: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    gate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scorecard:
    doc_type: str
    results: list[MetricResult]

    def get(self, name: str) -> MetricResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def passed(self) -> bool:
        """True when no gate check failed."""
        return not any(r.gate and r.passed is False for r in self.results)

    def failures(self) -> list[MetricResult]:
        return [r for r in self.results if r.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_type": self.doc_type,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
        }


def _result(name: str, value: float | None, passed: bool | None, reason: str, **details: Any) -> MetricResult:
    if value is not None:
        value = round(max(0.0, min(1.0, float(value))), 4)
    return MetricResult(name, value, passed, reason, details, METRIC_LABELS[name], name in GATES)


# ------------------------------------------------------------------------------------------- text helpers
def clean_line(line: str) -> str:
    """A line without indentation, Markdown markers, bold markers around it or ``[n]`` source marks."""
    line = _SOURCE_MARK.sub("", line).strip().strip("\u3000").strip()
    line = _MD_PREFIX.sub("", line)
    if line.startswith("**") and "**" in line[2:]:
        line = line.replace("**", "", 2)
    return line.strip()


def chars(text: str) -> str:
    """Only the letters, digits and Chinese characters of ``text`` (punctuation and spaces dropped)."""
    return "".join(c for c in text if c.isalnum())


def ngrams(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def bigrams(text: str) -> set[str]:
    return set(ngrams(chars(text), 2))


def share_in(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def split_sentences(text: str, colon: bool = False) -> list[str]:
    """Sentences (ending in 。！？；, and also ：when ``colon``), one line never spanning two."""
    ends = _SENTENCE_END + ("：:" if colon else "")
    out = []
    for line in text.splitlines():
        for piece in re.split(rf"(?<=[{ends}])", line):
            if piece.strip():
                out.append(piece.strip())
    return out


@dataclass
class _Text:
    """The draft's lines split into front matter (title, subtitle) and body."""

    front: list[str]
    body: list[str]  # cleaned, non-empty lines

    @property
    def body_text(self) -> str:
        return "\n".join(self.body)


def _is_heading_line(line: str) -> bool:
    return bool(_L1.match(line) or _L2.match(line) or _L3.match(line) or _L4.match(line))


def split_text(text: str, markdown: bool = True) -> _Text:
    """Clean ``text`` line by line and set the title lines apart.

    Leading short lines without sentence punctuation (a title, a speaker or unit line) are front matter.
    """
    lines = [
        clean_line(line) if markdown else _SOURCE_MARK.sub("", line).strip().strip("\u3000").strip()
        for line in text.splitlines()
    ]
    lines = [line for line in lines if line]
    front = []
    for line in lines:
        if len(front) >= 3 or len(line) > 60 or _is_heading_line(line):
            break
        if line[-1] in "。！？；：:!?;，," or re.search(r"[。：:]", line):
            break
        front.append(line)
    if len(front) == len(lines):  # a text with no sentence at all: nothing is a title
        front = []
    return _Text(front=front, body=lines[len(front) :])


# ------------------------------------------------------------------------------------------ input handling
@dataclass
class _Input:
    text: str
    draft: Draft | None
    request: DraftRequest | None
    passages: list[tuple[str, str]]  # (label, text)


def _passage_list(passages: Any) -> list[tuple[str, str]]:
    out = []
    for i, p in enumerate(passages or []):
        if isinstance(p, Passage):
            out.append((f"{p.chunk.title} {p.chunk.heading_path}".strip(), p.chunk.text))
        elif isinstance(p, str):
            out.append((f"段落{i + 1}", p))
        elif hasattr(p, "text"):  # records.Source, records.Chunk
            label = f"[{getattr(p, 'number', i + 1)}] {getattr(p, 'title', '')}".strip()
            out.append((label, p.text))
        elif isinstance(p, dict) and "text" in p:
            out.append((str(p.get("title") or f"段落{i + 1}"), str(p["text"])))
    return [(label, text) for label, text in out if text]


def _input(draft_or_text: Draft | str, request: DraftRequest | None, passages: Any) -> _Input:
    if isinstance(draft_or_text, Draft):
        draft = draft_or_text
        found = _passage_list(passages) if passages is not None else _passage_list(draft.sources)
        text = draft.text
        if draft.title and not text.lstrip().startswith(draft.title):
            text = "\n".join(x for x in (draft.title, draft.subtitle, text) if x)
        return _Input(text, draft, request or draft.request, found)
    return _Input(str(draft_or_text), None, request, _passage_list(passages))


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
    sentence: str


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


def number_mentions(lines: list[str], allowed_terms: tuple[str, ...]) -> list[NumberMention]:
    """Numbers stated in the draft's body lines, with numbering markers, ordinals and fixed terms removed."""
    out: list[NumberMention] = []
    for index, raw in enumerate(lines):
        line = raw.translate(_FULLWIDTH)
        for start, _end, shown, value in line_numbers(line, allowed_terms):
            left = max(line.rfind(c, 0, start) for c in _SENTENCE_END) + 1
            right = min(
                (i for i in (line.find(c, start) for c in _SENTENCE_END) if i >= 0), default=len(line)
            )
            out.append(NumberMention(shown, value, index, line[left : right + 1][:80]))
    return out


# ------------------------------------------------------------------------------------- structure helpers
@dataclass
class _Block:
    """A top-level part of the draft as the checks see it."""

    role: str
    kind: str  # heading | topic | body | salutation | opening | closing | item
    title: str


def _parse(text: str, doctype: DocType) -> ParsedDocument | None:
    try:
        from ..index import structure
    except ImportError:
        return None
    # the schema itself, not the configured prompts folder: a prompts copy may add a type (eval --prompts)
    return structure.parse_text(text, doctype.name, types={doctype.name: doctype})


def top_blocks(body_text: str, doctype: DocType) -> tuple[list[_Block], str]:
    """The draft's top-level parts with their roles, from the structure parser (or a cue-based fallback)."""
    parsed = _parse(body_text, doctype)
    if parsed is not None:
        blocks = [_Block(s.role, s.kind, s.title or s.heading) for s in parsed.sections]
        return blocks, "structure"
    return _fallback_blocks(body_text), "cues"


_ROLE_CUES = [
    ("causes", r"原因"),
    ("problems", r"存在的问题|存在的不足|问题和不足|不足之处|问题与不足|短板|差距|薄弱"),
    ("background", r"基本情况|总体情况|概况|现状"),
    ("measures", r"对策|建议|下一步|打算|今后|努力方向|思路"),
    ("requirements", r"意见|要求"),
    ("achievements", r"履职情况|成效|成绩|做法|工作情况|开展情况|主要工作"),
]


def _cue_role(text: str) -> str:
    for role, pattern in _ROLE_CUES:
        if re.search(pattern, text):
            return role
    return "other"


def _fallback_blocks(body_text: str) -> list[_Block]:
    """Roles from cue words: heading titles, a paragraph's first sentence, topic sentences."""
    blocks = []
    for line in body_text.splitlines():
        m = _L1.match(line)
        if m:
            title = line[m.end() :]
            role = _cue_role(title)
            if role == "other" and title.startswith("要"):
                role = "requirements"
            blocks.append(_Block(role, "heading", title))
            continue
        if _is_heading_line(line) or (blocks and blocks[-1].kind == "heading"):
            continue
        head = split_sentences(line)[0] if split_sentences(line) else line
        if re.match(r"^同志们[，,]|^总之|汇报完毕|以上报告", line):
            blocks.append(_Block("closing", "closing", head))
        elif len(head) <= 24 and head.endswith("。") and not _ITEM.match(line):
            blocks.append(
                _Block("measures" if re.search(r"下一步|今后", head) else "achievements", "topic", head)
            )
        else:
            role = _cue_role(line[:80])
            blocks.append(
                _Block(role if role in ("problems", "causes", "achievements") else "other", "body", head)
            )
    return blocks


def _lis_length(seq: list[int]) -> int:
    """Length of the longest strictly increasing subsequence."""
    import bisect

    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)


# ----------------------------------------------------------------------------------------------- metrics
def check_sections(blocks: list[_Block], doctype: DocType, method: str) -> MetricResult:
    missing, wrong_form, found = [], [], []
    for spec in doctype.sections:
        matches = [b for b in blocks if b.role == spec.role]
        if spec.form in ("heading", "points"):
            headed = [b for b in matches if b.kind == "heading"]
            if matches and not headed:
                wrong_form.append(spec.heading)
            matches = headed
        if matches:
            found.append(spec.key)
        elif spec.required:
            missing.append(spec.heading)
    required = [s for s in doctype.sections if s.required]
    value = (len(required) - len(missing)) / len(required) if required else 1.0
    if missing:
        reason = "缺少必备部分：" + "、".join(missing)
        if wrong_form:
            reason += "（" + "、".join(wrong_form) + " 未以“一、…”标题出现）"
    else:
        reason = "必备部分齐全：" + "、".join(s.heading for s in required)
    return _result("sections", value, not missing, reason, missing=missing, found=found, method=method)


def check_order(blocks: list[_Block], doctype: DocType) -> MetricResult:
    index = {spec.role: i for i, spec in enumerate(doctype.sections)}
    seen: list[str] = []
    for block in blocks:
        if block.role in index and block.role not in seen:
            seen.append(block.role)
    if len(seen) < 2:
        return _result(
            "order", 1.0 if seen else None, True if seen else None, "可比较的章节不足两个，不检查顺序"
        )
    seq = [index[r] for r in seen]
    lis = _lis_length(seq)
    expected = [doctype.sections[i].heading for i in sorted(seq)]
    actual = [doctype.sections[i].heading for i in seq]
    if lis == len(seq):
        return _result("order", 1.0, True, "章节顺序正确：" + "→".join(actual), actual=actual)
    return _result(
        "order",
        lis / len(seq),
        False,
        f"章节顺序不对：现为 {'→'.join(actual)}，应为 {'→'.join(expected)}",
        actual=actual,
        expected=expected,
    )


def _numbering_issues(lines: list[str]) -> tuple[list[str], list[str], dict[str, int], list[str]]:
    """(sequence problems, non-standard forms, counts, offending markers) over the body lines."""
    problems: list[str] = []
    styles: list[str] = []
    snippets: list[str] = []  # the offending markers as written, for highlighting
    counts = {"一、": 0, "（一）": 0, "1.": 0, "（1）": 0, "一是": 0}
    last = [0, 0, 0, 0]  # last number seen at levels 1..4 under the current parents
    item_last = 0
    for line in lines:
        level = 0
        n: int | None = None
        if m := _L1.match(line):
            level, n = 1, from_chinese(m.group(1))
        elif m := _L2.match(line):
            level, n = 2, from_chinese(m.group(2))
            if m.group(1) == "(" or m.group(3) == ")":
                styles.append(f"半角括号：{line[: m.end()]}")
                snippets.append(line[: m.end()])
            if m.group(4):
                styles.append(f"多余顿号：{line[: m.end()]}")
                snippets.append(line[: m.end()])
        elif m := _L4.match(line):
            level, n = 4, int(m.group(2))
            if m.group(1) == "(" or m.group(3) == ")":
                styles.append(f"半角括号：{line[: m.end()]}")
        elif m := _L3.match(line):
            level, n = 3, int(m.group(1))
            if m.group(2) == "、":
                styles.append(f"阿拉伯数字后用顿号：{line[: m.end()]}")
                snippets.append(line[: m.end()])
        if level:
            key = ("一、", "（一）", "1.", "（1）")[level - 1]
            counts[key] += 1
            head = line[: m.end() + 12]
            before = len(problems)
            if n is None:
                problems.append(f"无法识别的序号：{head}")
            else:
                if level > 1 and last[level - 2] == 0:
                    upper = ("一、", "（一）", "1.")[level - 2]
                    problems.append(f"跳级：{head} 之前没有上一级序号（{upper}）")
                expected = last[level - 1] + 1
                if n != expected:
                    shown = to_chinese(expected) if level <= 2 else str(expected)
                    problems.append(f"序号不连续：{head}（应为第 {shown} 个）")
                last[level - 1] = n
            if len(problems) > before:
                snippets.append(line[: m.end()])
            for deeper in range(level, 4):
                last[deeper] = 0
        # 一是、二是… within the line (a paragraph group), continuing across the body lines under one heading
        if level:
            item_last = 0
        for im in _ITEM.finditer(line):
            k = from_chinese(im.group(1))
            if k is None:
                continue
            counts["一是"] += 1
            if k == 1 or k == item_last + 1:
                item_last = k
            else:
                where = line[max(0, im.start() - 6) : im.end() + 10]
                problems.append(
                    f"“X是”不连续：…{where}…（前一个是“{to_chinese(item_last) + '是' if item_last else '无'}”）"
                )
                snippets.append(im.group(0))
                item_last = k
    return problems, styles, counts, snippets


def check_numbering(lines: list[str]) -> tuple[MetricResult, MetricResult]:
    problems, styles, counts, snippets = _numbering_issues(lines)
    total = sum(counts.values()) or 1
    if problems:
        numbering = _result(
            "numbering",
            1 - len(problems) / total,
            False,
            "序号有误：" + "；".join(problems[:3]),
            problems=problems,
            counts=counts,
            marks=snippets,
        )
    else:
        used = "、".join(f"{k}×{v}" for k, v in counts.items() if v) or "无序号"
        numbering = _result(
            "numbering", 1.0, True, f"序号连续、层级正确（{used}）", problems=[], counts=counts
        )
    if styles:
        style = _result(
            "numbering_style",
            1 - len(styles) / total,
            False,
            "序号写法不规范：" + "；".join(styles[:3]),
            problems=styles,
            marks=snippets,
        )
    else:
        style = _result("numbering_style", 1.0, True, "序号写法符合规范（一、 （一） 1. （1））", problems=[])
    return numbering, style


def _salutation_ok(line: str, salutation: str) -> bool:
    if not line or line[-1] not in "：:" or len(line) > 40:
        return False
    parts = [p for p in re.split(r"[，,、：:]", salutation) if p]
    keys = [re.sub(r"^尊敬的", "", p) for p in parts]
    return any(k and k in line for k in keys)


def check_formulas(text: _Text, doctype: DocType) -> MetricResult:
    body = text.body
    missing, found = [], []
    start = 0
    if doctype.salutation:
        if body and _salutation_ok(body[0], doctype.salutation):
            found.append(f"称谓“{body[0]}”")
            start = 1
        else:
            missing.append(f"称谓（如“{doctype.salutation}”）")
    head = "\n".join(body[start : start + 3])
    if re.search(doctype.opening.pattern, head, flags=re.MULTILINE):
        found.append("开头语")
    elif doctype.opening.required:
        missing.append(f"开头语（应匹配 {doctype.opening.pattern}）")
    tail = "\n".join(body[-2:])
    if re.search(doctype.closing.pattern, tail, flags=re.MULTILINE):
        found.append("结束语")
    elif doctype.closing.required:
        missing.append(f"结束语（应匹配 {doctype.closing.pattern}）")
    needed = int(bool(doctype.salutation)) + int(doctype.opening.required) + int(doctype.closing.required)
    if missing:
        return _result(
            "formulas", 1 - len(missing) / max(needed, 1), False, "缺少" + "；".join(missing), missing=missing
        )
    return _result(
        "formulas", 1.0, True, "具备" + "、".join(found) if found else "无必需的开头语、结束语", missing=[]
    )


def check_length(text: _Text, doctype: DocType, request: DraftRequest | None) -> MetricResult:
    n = sum(len(re.sub(r"\s", "", line)) for line in text.body)
    if request is not None and request.length:
        lo, hi = int(request.length * (1 - LENGTH_TOLERANCE)), int(request.length * (1 + LENGTH_TOLERANCE))
        band = f"要求 {request.length} 字 ±30%（{lo}–{hi}）"
    else:
        lo, hi = doctype.length_min, doctype.length_max
        band = f"{doctype.label}篇幅 {lo}–{hi} 字"
    if lo <= n <= hi:
        return _result("length", 1.0, True, f"正文 {n} 字，在{band}之内", chars=n, min=lo, max=hi)
    value = n / lo if n < lo else hi / n
    word = "偏短" if n < lo else "偏长"
    return _result("length", value, False, f"正文 {n} 字，{word}：{band}", chars=n, min=lo, max=hi)


def check_leftovers(text: _Text) -> MetricResult:
    body = text.body_text
    found: list[dict[str, str]] = []
    for label, pattern in _LEFTOVERS:
        for m in pattern.finditer(body):
            context = body[max(0, m.start() - 8) : m.end() + 8].replace("\n", " ")
            found.append({"kind": label, "text": m.group(0), "context": context})
    placeholders = _PLACEHOLDER.findall(body)
    note = f"；另有 {len(placeholders)} 处【待补：…】待填写" if placeholders else ""
    details = {"found": found, "placeholders": placeholders}
    if found:
        kinds = Counter(f["kind"] for f in found)
        shown = "、".join(f"{k}×{v}" for k, v in kinds.items())
        example = found[0]["context"]
        return _result(
            "leftovers",
            max(0.0, 1 - len(found) / 10),
            False,
            f"有残留标记：{shown}（如“{example}”）{note}",
            **details,
        )
    return _result("leftovers", 1.0, True, "没有残留的占位符或标记" + note, **details)


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
    structure_counts = structural_counts(text.body)
    unsupported = []
    for m in mentions:
        if m.value in supported_values:
            continue
        if m.value in structure_counts and re.search(r"点|方面|个", m.text):
            continue
        unsupported.append({"text": m.text, "value": m.value, "sentence": m.sentence})
    if unsupported:
        shown = "、".join(dict.fromkeys(u["text"] for u in unsupported[:6]))
        reason = f"{len(unsupported)} 处数字在要求和材料中找不到出处：{shown}"
        value = 1 - len(unsupported) / max(len(mentions), 1)
        return _result("numbers", value, False, reason, unsupported=unsupported, total=len(mentions))
    reason = f"{len(mentions)} 处数字都有出处" if mentions else "正文没有具体数字"
    return _result("numbers", 1.0, True, reason, unsupported=[], total=len(mentions))


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
) -> Scorecard:
    """Score a draft (a ``Draft`` or its text) against its type's schema, its request and its sources.

    ``passages``: retrieved ``Passage`` objects, ``Source`` objects or plain texts (default: the draft's own
    sources). ``aliases``: other wordings that count as covering a key point. ``markdown``: strip Markdown
    markers before checking (set False for text that should read as it will in Word, so markers count as
    leftovers).
    """
    if isinstance(doctype, str):
        from ..settings import load_settings

        doctype = get_doctype(doctype, prompts_dir or load_settings().prompts_dir)
    prompts_root = Path(prompts_dir) if prompts_dir else Path(doctype.path).resolve().parent.parent.parent
    data = _input(draft_or_text, request, passages)
    text = split_text(data.text, markdown=markdown and data.draft is None)
    blocks, method = top_blocks(text.body_text, doctype)
    numbering, numbering_style = check_numbering(text.body)
    allowed = fixed_numerals(str(prompts_root))
    results = [
        check_sections(blocks, doctype, method),
        check_order(blocks, doctype),
        numbering,
        numbering_style,
        check_formulas(text, doctype),
        check_length(text, doctype, data.request),
        check_leftovers(text),
        check_points(text, data.request, aliases),
        check_grounding(text, data.passages),
        check_citations(data.draft),
        check_numbers(text, data.request, allowed, []),
        check_copying(text, data.passages),
        check_repetition(text),
    ]
    return Scorecard(doc_type=doctype.name, results=results)
