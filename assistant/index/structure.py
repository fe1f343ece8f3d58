"""The 公文 structure parser: heading grammar, section tree, roles, and document type detection.

The parser is line-oriented (one paragraph a line, as the loaders produce) and rule-based: the heading
grammar (``一、`` → ``（一）`` → ``1.`` → ``（1）``, paragraph-leading ``一是``, work-report topic sentences) is
regular enough that explicit rules beat a learned model on a corpus of a few dozen documents, and every
decision can be explained to a writer. Each line is read through a *parse view*: Markdown heading markers,
``**bold**`` around headings, ``[1]`` source marks and ``##marker##`` tokens are removed and half-width
punctuation is mapped to full width (``(一)`` → ``（一）``), with a map from every view character back to its
offset in the text. So all spans point into the text as received while the rules see one canonical form,
and headings and numbers are reported as written (``(一)``, ``（一）、``, ``1、``) for numbering checks.

Roles come from the fixed vocabulary ``records.ROLES``: from heading keywords, from the lead sentence of
unheaded paragraphs (speeches), from a speech's ``讲…意见`` transition, and otherwise from the type schema
(the role of the section that holds the writer's key points). Type detection weighs the ``detect``
keywords of every schema plus a few structural cues, so a new type folder is detected without code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import doctypes
from ..errors import InputError
from ..numerals import from_chinese
from ..records import Document, ParsedDocument, Section
from ..settings import load_settings

PARSER_VERSION = 2  # 2: type detection by zones (index/detect.py); type behaviour from section forms
_CN_NUM = "一二三四五六七八九十"
_PUNCT = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？", "．": "."}
_PUNCT.update({chr(0xFF10 + d): str(d) for d in range(10)})
_NORM = str.maketrans(_PUNCT)

_H1 = re.compile(rf"^[{_CN_NUM}]{{1,3}}[、.](?!\d)")
_H2 = re.compile(rf"^（[{_CN_NUM}]{{1,3}}）[、.]?")
_H3 = re.compile(r"^\d{1,2}[.、](?!\d)")
_H4 = re.compile(r"^（\d{1,2}）[、.]?")
_ITEM = re.compile(rf"^[{_CN_NUM}]{{1,3}}是(?![否的])")
_SENTENCE_END = "。！？"
_CLOSERS = "”’」』）》\"'"

_SALUTATION = re.compile(r"^(?:(?:尊敬的|各位|同志们|亲爱的).{0,45}|[^，。！？；\s]{2,30})：$")
_OPENING = re.compile(r"(?:报告|汇报|述职|说明|介绍|发言)如下[：]?")
_OPINIONS = re.compile(rf"(?:讲|谈|提|强调|提出)[{_CN_NUM}两几]点(?:意见|要求|看法|建议)?")
_CLOSING = re.compile(
    r"^(?:总之|总而言之|综上所述|综上)|汇报完毕|以上报告|以上汇报|以上是|请予评议|批评指正|谢谢大家|^谢谢[！。]?$|^同志们[，！]"
)
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_SOURCE_MARK = re.compile(r"\[\d{1,3}\]")
_MARKER = re.compile(r"##[A-Za-z0-9_-]+##")

# (role, strong keywords, weak keywords). Strong ones may also name a sub-section or a topic paragraph;
# weak ones count only in level-1 headings and in the lead sentence of unheaded paragraphs.
_ROLE_WORDS: tuple[tuple[str, str, str], ...] = (
    ("causes", "原因", ""),
    ("problems", "存在的?问题|不足|短板|差距|薄弱环节", "问题(?!导向)"),
    ("measures", "对策|建议|下一步|打算|今后", "措施|思路|举措"),
    ("background", "基本情况|概况|现状", "形势|举办(?:这次|本次|此次)|办班(?:的)?目的"),
    ("achievements", "履职情况|成效|成绩|成果|做法|工作情况|主要工作", ""),
)
_PART_ROLES = ("problems", "causes", "measures")  # parts a lead opens between a work report's topics
_TOPIC_MAX = 18  # characters of a work-report topic sentence (without its 。)
_NAME_MAX = 12  # a sub-heading this short that names a role keyword starts a new role


@dataclass
class _Line:
    start: int  # offset of the line's first non-space character in the text
    end: int  # offset after its last non-space character
    clean: str  # the parse view, punctuation as written
    norm: str  # the parse view with punctuation normalised (same length as ``clean``)
    pos: list[int] = field(repr=False)  # text offset of each view character
    md_level: int = 0

    def offset(self, i: int) -> int:
        """Text offset of view position ``i`` (``len(clean)`` maps to the line's end)."""
        return self.pos[i] if i < len(self.pos) else self.end


def _view(text: str, start: int, end: int) -> _Line | None:
    raw = text[start:end]
    keep = [True] * len(raw)
    lead = len(raw) - len(raw.lstrip())
    md_level = 0
    match = _MD_HEADING.match(raw, lead)
    if match:
        md_level = len(match.group(1))
        for i in range(match.start(), match.end()):
            keep[i] = False
        lead = match.end()
    for pattern in (_SOURCE_MARK, _MARKER):
        for m in pattern.finditer(raw):
            for i in range(m.start(), m.end()):
                keep[i] = False
    # **bold** opening the line or right after a heading number
    body = raw[lead:].translate(_NORM)
    number = next((m for p in (_H1, _H2, _H3, _H4) if (m := p.match(body))), None)
    bold_at = lead + (number.end() if number and body[number.end() :].startswith("**") else 0)
    if raw.startswith("**", bold_at):
        close = raw.find("**", bold_at + 2)
        if close > 0:
            for i in (bold_at, bold_at + 1, close, close + 1):
                keep[i] = False
    chars = [(c, start + i) for i, c in enumerate(raw) if keep[i]]
    while chars and chars[0][0].isspace():
        chars.pop(0)
    while chars and chars[-1][0].isspace():
        chars.pop()
    if not chars:
        return None
    clean = "".join(c for c, _ in chars)
    stripped = raw.strip()
    line_start = start + raw.index(stripped)
    return _Line(
        start=line_start,
        end=line_start + len(stripped),
        clean=clean,
        norm=clean.translate(_NORM),
        pos=[p for _, p in chars],
        md_level=md_level,
    )


def _lines(text: str) -> list[_Line]:
    out = []
    for m in re.finditer(r"[^\n]+", text):
        line = _view(text, m.start(), m.end())
        if line is not None:
            out.append(line)
    return out


def _sentence_end(norm: str, start: int = 0, ends: str = _SENTENCE_END) -> int:
    """Index just after the first sentence end at or after ``start`` (closing quotes included), or -1."""
    for i in range(start, len(norm)):
        if norm[i] in ends:
            j = i + 1
            while j < len(norm) and norm[j] in _CLOSERS:
                j += 1
            return j
    return -1


def _sentences(norm: str) -> list[tuple[int, int]]:
    spans, at = [], 0
    while at < len(norm):
        end = _sentence_end(norm, at)
        end = len(norm) if end < 0 else end
        spans.append((at, end))
        at = end
    return spans


def _number(norm: str) -> tuple[int, int] | None:
    """(level, length of the number as written) when the line opens with a heading number."""
    for level, pattern in ((2, _H2), (4, _H4), (1, _H1), (3, _H3)):
        match = pattern.match(norm)
        if match and match.end() < len(norm):
            return level, match.end()
    return None


def _topic_end(norm: str) -> int:
    """End of a work-report topic sentence (``对标政治强统领。``) opening the line, or -1."""
    end = _sentence_end(norm)
    if end < 0 or end >= len(norm):
        return -1
    sentence = norm[:end].rstrip(_CLOSERS)
    if not sentence.endswith("。"):
        return -1
    sentence = sentence[:-1]
    if not 2 <= len(sentence) <= _TOPIC_MAX or re.search(r"[，：；]", sentence):
        return -1
    return end


def _lead_sentence(line: _Line) -> str:
    """A paragraph's lead: its first sentence, ending at a colon when a list follows (…存在的不足：一是…), so
    the items' own words (…整体成效) do not decide the part."""
    end = _sentence_end(line.norm, ends=_SENTENCE_END + "：")
    return line.norm[: end if end > 0 else len(line.norm)]


def _keyword_role(text: str, strong_only: bool = False, last: bool = False) -> str | None:
    """The role named by a keyword in ``text``: the first keyword to occur (or the last, for lead
    sentences that move from one topic to the next: 在看到成效的同时，也要看到…不足)."""
    best: tuple[int, str] | None = None
    for role, strong, weak in _ROLE_WORDS:
        words = strong if strong_only or not weak else f"{strong}|{weak}"
        for match in re.finditer(words, text):
            at = match.start()
            if best is None or (at > best[0] if last else at < best[0]):
                best = (at, role)
    return best[1] if best else None


def _doctypes(prompts_dir: Path | None = None) -> dict[str, doctypes.DocType]:
    """The type schemas under ``prompts_dir`` (default: the configured prompts folder)."""
    return doctypes.load_doctypes(Path(prompts_dir) if prompts_dir else load_settings().prompts_dir)


def _points_role(doctype: doctypes.DocType | None) -> str:
    if doctype is not None:
        for spec in doctype.sections:
            if spec.points_here:
                return spec.role
    return "other"


# --- type detection ----------------------------------------------------------------------------------------


def detect_type(
    text: str, types: dict[str, doctypes.DocType] | None = None, prompts_dir: Path | None = None
) -> tuple[str, float]:
    """The most likely document type of ``text`` and a calibrated confidence in 0..1 (0 when nothing
    matched; the first type by name is returned then). The detection words are each schema's ``detect``
    tables (``index/detect.py`` reads the document's zones); the candidates are ``types``, else the schemas
    under ``prompts_dir``, else the configured prompts folder."""
    from . import detect

    return detect.detect_type(text, types if types is not None else _doctypes(prompts_dir))


# --- parsing -----------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, text: str, lines: list[_Line], doc_type: str, doctype: doctypes.DocType | None):
        self.text = text
        self.lines = lines
        self.doc_type = doc_type
        self.doctype = doctype
        self.points_role = _points_role(doctype)
        forms = {spec.form for spec in (doctype.all_sections or doctype.sections)} if doctype else set()
        self.paragraphs = "paragraph" in forms  # unheaded review/problems paragraphs (a speech)
        self.topics = "topics" in forms  # topic-sentence paragraphs (a work report)
        self.sections: list[Section] = []
        self.stack: list[Section] = []
        self.heading_end: dict[int, int] = {}  # id(section) -> text offset where its body starts
        self.after_opinions = False
        self.prev_top_role: str | None = None
        self.part_role: str | None = None  # the part a lead between topic paragraphs opened (下一步……)
        self.salutation = ""
        self.opening = ""
        self.closing = ""
        self.md_base = 1
        self.prev_line: _Line | None = None

    # helpers
    def _section(self, line: _Line, cut: int, at: int = 0, **kw) -> Section:
        """A section opening at view position ``at`` of ``line`` whose heading is the view's characters
        ``at:cut``; it ends with the line until told otherwise."""
        heading = line.clean[at:cut].rstrip()
        if heading.endswith(("。", "！", "？", "；")):
            heading = heading[:-1]
        number = kw.pop("number", "")
        section = Section(
            heading=heading,
            title=heading[len(number) :].strip(),
            level=kw.pop("level"),
            kind=kw.pop("kind"),
            role=kw.pop("role"),
            start=line.offset(at) if at else line.start,
            end=line.end,
            number=number,
        )
        self.heading_end[id(section)] = line.offset(cut) if cut < len(line.clean) else line.end
        return section

    def _item_cut(self, norm: str, at: int, stop: int) -> int:
        """End of an item's heading: its first sentence (or clause, when that is long)."""
        end = _sentence_end(norm[:stop], at, _SENTENCE_END + "；")
        cut = end if end > 0 else stop
        comma = norm.find("，", at, cut)
        if cut - at > 30 and comma > at + 2:
            cut = comma
        return cut

    def _item_markers(self, line: _Line, start: int, first: int) -> list[int]:
        """View positions of consecutive run-in items ``{first}是`` …, each at ``start`` or after a sentence
        end or colon; empty unless at least two are found (or ``first`` > 1, continuing a leading item)."""
        found: list[int] = []
        expected = first
        for m in re.finditer(rf"(?:(?<=[。！？；：])|^)([{_CN_NUM}]{{1,3}})是", line.norm[start:]):
            at = start + m.start()
            if from_chinese(m.group(1)) == expected:
                found.append(at)
                expected += 1
        if first == 1 and len(found) < 2:
            return []
        return found

    def _inline_items(
        self, line: _Line, start: int, parent: Section | None, role: str, level: int, first: int = 1
    ) -> list[Section]:
        """Split run-in ``一是…二是…`` items of ``line`` (from view position ``start``) into item sections
        under ``parent`` (top level when None)."""
        markers = self._item_markers(line, start, first)
        items = []
        for n, at in enumerate(markers):
            stop = markers[n + 1] if n + 1 < len(markers) else len(line.norm)
            number = line.clean[at : line.norm.index("是", at) + 1]
            item = self._section(
                line,
                self._item_cut(line.norm, at, stop),
                at,
                level=level,
                kind="item",
                role=role,
                number=number,
            )
            item.end = line.offset(stop) if stop < len(line.norm) else line.end
            while item.end > item.start and self.text[item.end - 1].isspace():
                item.end -= 1
            if parent is None:
                self.sections.append(item)
            else:
                parent.children.append(item)
            items.append(item)
        return items

    def _structural(self, line: _Line) -> bool:
        return bool(_number(line.norm) or _ITEM.match(line.norm) or line.md_level)

    def _attach(self, section: Section, push: bool) -> None:
        if self.stack:
            self.stack[-1].children.append(section)
        else:
            self.sections.append(section)
        if push:
            self.stack.append(section)

    def _extend(self, end: int) -> None:
        for section in self.stack:
            section.end = end

    def _level0(self, first: _Line, last: _Line, kind: str, role: str) -> Section:
        section = Section(
            heading="", title="", level=0, kind=kind, role=role, start=first.start, end=last.end
        )
        self.heading_end[id(section)] = first.start
        return section

    # regions
    def _front(self) -> int:
        """Title/subtitle lines, salutation and the opening region; returns the index of the first body
        line."""
        lines, i = self.lines, 0
        if lines and self._is_title(lines[0]):
            i = 1
            if len(lines) > 1 and not lines[1].md_level and self._is_title(lines[1]):
                i = 2
        if i < len(lines) and _SALUTATION.match(lines[i].norm) and not self._structural(lines[i]):
            line = lines[i]
            self.salutation = self.text[line.start : line.end]
            self.sections.append(self._level0(line, line, "salutation", "opening"))
            i += 1
        first_struct = next((k for k in range(i, len(lines)) if self._structural(lines[k])), len(lines))
        for j in range(i, min(first_struct, i + 4)):
            match = _OPENING.search(lines[j].norm)
            if match:
                start = next(a for a, b in _sentences(lines[j].norm) if a <= match.start() < b)
                line = lines[j]
                self.opening = self.text[line.offset(start) : line.offset(match.end() - 1) + 1]
                self.sections.append(self._level0(lines[i], line, "opening", "opening"))
                return j + 1
        if i >= len(lines) or self._structural(lines[i]):
            return i
        line = lines[i]
        first_end = _sentence_end(line.norm)
        cut = first_end if first_end > 0 else len(line.norm)
        pattern = self.doctype.opening.pattern if self.doctype else ""
        if pattern and re.search(pattern, line.norm[:cut]):  # e.g. a speech's 刚才，…
            self.opening = self.text[line.start : line.offset(cut - 1) + 1]
            self.sections.append(self._level0(line, line, "opening", "opening"))
            return i + 1
        if self.paragraphs:  # unheaded review/problems paragraphs follow the salutation
            return i
        # No formula: the paragraphs before the first heading or topic open the document (just the first
        # paragraph when the document has neither).
        topics = self.topics
        stop = next(
            (
                k
                for k in range(i, len(lines))
                if self._structural(lines[k]) or (topics and _topic_end(lines[k].norm) > 0)
            ),
            len(lines),
        )
        if stop == i:
            return i
        last = stop - 1 if stop < len(lines) else i
        self.sections.append(self._level0(lines[i], lines[last], "opening", "opening"))
        return last + 1

    def _is_title(self, line: _Line) -> bool:
        """A title (or speaker/date subtitle) line: short, no sentence punctuation, not a heading."""
        norm = line.norm
        return (
            line.md_level <= 1
            and not _number(norm)
            and not _ITEM.match(norm)
            and len(norm) <= 40
            and not re.search(r"[。！？；：]", norm)
            and not norm.endswith("，")
            and not _SALUTATION.match(norm)
        )

    def _closing_start(self, first_body: int) -> int:
        pattern = self.doctype.closing.pattern if self.doctype else ""
        k = len(self.lines)
        while k - 1 >= first_body:
            line = self.lines[k - 1]
            if self._structural(line):
                break
            hit = _CLOSING.search(line.norm) or (pattern and re.search(pattern, line.norm))
            if not hit:
                break
            k -= 1
        return k

    # body
    def _heading(self, line: _Line) -> None:
        found = _number(line.norm)
        if found:
            level, numlen = found
        else:
            level, numlen = min(4, max(1, line.md_level - self.md_base + 1)), 0
        end = _sentence_end(line.norm, numlen)
        cut = end if 0 < end < len(line.norm) else len(line.clean)
        while self.stack and self.stack[-1].level >= level:
            self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        section = self._section(
            line, cut, level=level, kind="heading", role="other", number=line.clean[:numlen]
        )
        section.role = self._heading_role(section, parent)
        self._attach(section, push=True)
        if cut < len(line.norm):
            self._inline_items(line, cut, section, section.role, level + 1)

    def _schema_role(self, title: str) -> str | None:
        """The role of a level-1 heading that is one of the type's own section headings (so a type added in
        a prompts copy needs no keyword list)."""
        if self.doctype is None:
            return None
        clean = title.strip().rstrip("。：:")
        return next((spec.role for spec in self.doctype.sections if spec.heading == clean), None)

    def _heading_role(self, section: Section, parent: Section | None) -> str:
        title = section.title
        if parent is None:
            named = self._schema_role(title)
            if named:
                return named
            if self.paragraphs and (self.after_opinions or title.startswith("要")):
                return "requirements"
            return _keyword_role(title) or self.points_role
        if parent.role != "requirements" and len(title) <= _NAME_MAX:
            own = _keyword_role(title, strong_only=True)
            if own:
                return own
        return parent.role

    def _item(self, line: _Line) -> None:
        number = line.clean[: line.norm.index("是") + 1]
        value = from_chinese(line.norm[: line.norm.index("是")]) or 1
        markers = self._item_markers(line, 1, value + 1)
        stop = markers[0] if markers else len(line.norm)
        cut = self._item_cut(line.norm, 0, stop)
        owners = [s for s in self.stack if s.kind != "item"]
        if not owners:
            role = self._lead_role(line, item=True)
            parent, level = None, 1
        else:
            parent = owners[-1]
            level = parent.level + 1
            while self.stack and self.stack[-1].level >= level:
                self.stack.pop()
            role = parent.role
        section = self._section(line, cut, level=level, kind="item", role=role, number=number)
        if parent is not None and parent.role != "requirements" and len(section.title) <= _NAME_MAX:
            section.role = _keyword_role(section.title, strong_only=True) or parent.role
        if parent is None:
            self.sections.append(section)
            self.prev_top_role = section.role
        else:
            self._attach(section, push=not markers)
        if markers:
            section.end = line.offset(markers[0])
            while self.text[section.end - 1].isspace():
                section.end -= 1
            self._inline_items(line, markers[0], parent, section.role, level, first=value + 1)

    def _lead_role(self, line: _Line, item: bool = False) -> str:
        """Role of an unheaded top-level paragraph, from its lead (or the previous paragraph's lead-in)."""
        if _OPINIONS.search(line.norm):
            self.after_opinions = True
            return "requirements"
        if item and not line.norm.startswith("一是") and self.prev_top_role:
            return self.prev_top_role
        first = _lead_sentence(line)
        role = None
        if item and self.prev_line is not None and self.prev_line.norm.endswith("："):
            spans = _sentences(self.prev_line.norm)
            a, b = spans[-1]
            role = _keyword_role(self.prev_line.norm[a:b], last=True)
        role = role or _keyword_role(first, last=True)
        if role:
            return role
        if self.prev_top_role:
            return self.prev_top_role
        first = self.doctype.sections[0] if self.paragraphs and self.doctype and self.doctype.sections else None
        if first is not None and first.form == "paragraph":
            return first.role  # nothing names the part: the structure's first, unheaded one (an 开学典礼's 致意)
        return "other" if self.paragraphs else "background"

    def _part_lead(self, line: _Line) -> str | None:
        """The part an unheaded paragraph between topic paragraphs opens, named by its lead sentence
        (下一步，我们将……; 在看到成效的同时，也要看到……不足：), when it is not the open part's."""
        role = _keyword_role(_lead_sentence(line), last=True)
        if role in _PART_ROLES and role != self.stack[0].role:
            return role
        return None

    def _topic(self, line: _Line, end: int) -> None:
        self.stack.clear()
        sentence = line.norm[:end]
        default = self.part_role or self.points_role
        role = _keyword_role(sentence, strong_only=True) or default
        if role not in ("achievements", "measures", "problems", "causes"):
            role = default
        section = self._section(line, end, level=1, kind="topic", role=role)
        self._attach(section, push=True)
        self._inline_items(line, end, section, role, 2)

    def build(self) -> list[Section]:
        first_body = self._front()
        closing_at = max(first_body, self._closing_start(first_body))
        body = self.lines[first_body:closing_at]
        levels = [line.md_level for line in body if line.md_level and not _number(line.norm)]
        self.md_base = min(levels) if levels else 1
        self.prev_line = self.lines[first_body - 1] if first_body > 0 else None
        topics = self.topics
        for line in body:
            if _number(line.norm) or line.md_level:
                self._heading(line)
            elif _ITEM.match(line.norm):
                self._item(line)
            elif topics and (not self.stack or self.stack[0].kind == "topic") and _topic_end(line.norm) > 0:
                self._topic(line, _topic_end(line.norm))
            elif topics and self.stack and self.stack[0].kind == "topic" and (opens := self._part_lead(line)):
                # 下一步，我们将……： between topic paragraphs opens the next part; its topics are of its role
                self.stack.clear()
                role = self.part_role = opens
                section = self._section(line, 0, level=1, kind="body", role=role)
                self.sections.append(section)
                self.prev_top_role = role
            elif not self.stack:  # an unheaded top-level paragraph
                role = self._lead_role(line)
                if topics and role in _PART_ROLES:
                    self.part_role = role  # 下一步，我们将……: the topics after it are plans
                section = self._section(line, 0, level=1, kind="body", role=role)
                self.sections.append(section)
                self.prev_top_role = role
                self._inline_items(line, 0, section, role, 2)
            else:  # a paragraph continuing the open section
                parent = self.stack[-1]
                self._inline_items(line, 0, parent, parent.role, parent.level + 1)
            self._extend(line.end)
            self.prev_line = line
        if closing_at < len(self.lines):
            first, last = self.lines[closing_at], self.lines[-1]
            self.closing = self.text[first.start : last.end]
            self.sections.append(self._level0(first, last, "closing", "closing"))
        for section in self.sections:
            for node in section.walk():
                self._fill_body(node)
        return self.sections

    def _fill_body(self, section: Section) -> None:
        start = self.heading_end.get(id(section), section.start)
        end = section.children[0].start if section.children else section.end
        section.body = self.text[start:end].strip().lstrip("，,、：:；;").strip() if end > start else ""


def _resolve_type(
    doc_type: str | None, text: str, where: str, types: dict[str, doctypes.DocType] | None = None
) -> tuple[str, float, dict]:
    types = types if types is not None else _doctypes()
    if doc_type:
        if doc_type not in types:
            valid = "、".join(f"{t.name}（{t.label}）" for t in types.values())
            raise InputError(f"{where}的文种“{doc_type}”无效。可选文种：{valid}")
        return doc_type, 1.0, types
    name, confidence = detect_type(text, types)
    return name, confidence, types


def _parse(
    document: Document, where: str, types: dict[str, doctypes.DocType] | None = None
) -> ParsedDocument:
    doc_type, confidence, types = _resolve_type(document.doc_type, document.text, where, types)
    builder = _Builder(document.text, _lines(document.text), doc_type, types.get(doc_type))
    sections = builder.build()
    return ParsedDocument(
        document=document,
        doc_type=doc_type,
        type_confidence=confidence,
        sections=sections,
        salutation=builder.salutation,
        opening=builder.opening,
        closing=builder.closing,
    )


def parse(document: Document, prompts_dir: Path | None = None) -> ParsedDocument:
    """The section tree, roles, type and formulas of a loaded document (metadata type wins). The types are
    those under ``prompts_dir`` (default: the configured prompts folder)."""
    return _parse(document, f"文档 {document.path or document.doc_id} ", _doctypes(prompts_dir))


def parse_text(
    text: str,
    doc_type: str | None = None,
    prompts_dir: Path | None = None,
    types: dict[str, doctypes.DocType] | None = None,
) -> ParsedDocument:
    """Parse any text, e.g. a draft: Markdown heading markers, ``**bold**`` headings and ``[n]`` source
    marks are tolerated; spans refer to ``text`` as given. The known types are ``types``, else those under
    ``prompts_dir`` (a copy of the prompts folder may add types), else the configured prompts folder."""
    lines = _lines(text)
    title = ""
    first = lines[0].norm if lines else ""
    if first and not _number(first) and len(first) <= 40 and not re.search(r"[。！？；：]", first):
        title = lines[0].clean
    document = Document(doc_id="draft", title=title, text=text, doc_type=doc_type)
    return _parse(document, "草稿", types if types is not None else _doctypes(prompts_dir))


def heading_path(parsed: ParsedDocument, target: Section) -> list[Section]:
    """The chain of sections from the top level down to ``target`` (inclusive)."""

    def search(nodes: list[Section], trail: list[Section]) -> list[Section] | None:
        for node in nodes:
            if node is target:
                return [*trail, node]
            found = search(node.children, [*trail, node])
            if found:
                return found
        return None

    return search(parsed.sections, []) or []
