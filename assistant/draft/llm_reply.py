"""A model's reply read as the parts the prompt asked for, whatever the model wrapped around them.

The section prompt asks for explicit markers — 【标题】 (a level-1 heading of a speech's 意见), 【小标题】
(a （一） sub-heading), 【导语】 (a lead or transition sentence), 【正文】 (a body paragraph), 【分项】 (an 一是
item), 【主题句】 (a 汇报's topic sentence) — one per line. Real models add things: reasoning blocks
(``<think>…</think>``, unterminated, or only the closing tag), Markdown (``##``, ``**``, bullets, fences),
commentary (“好的，以下是……：” before the text, “以上内容供参考” after it), numbering of their own, and
sometimes no markers at all. ``clean`` removes what is not text and says what it removed; ``parse`` turns
the rest into ``Block``s; ``check`` compares them with the shape the outline asked for and returns the
problems in Chinese, which the writer sends back to the model once before falling back.

Structure comes only from markers, never from line breaks: a “（一）…” line with no marker under a body is
read as a sub-heading only where the section has sub-headings, otherwise as the lead of the next paragraph,
and never as a level-1 heading; 一是…二是… inside a paragraph keep their markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .units import _HEADING_RE, bigrams

MARKERS = {
    "标题": "heading",
    "小标题": "subheading",
    "导语": "lead",
    "正文": "body",
    "分项": "item",
    "主题句": "topic",
}
_MARKER_RE = re.compile(
    r"[【\[［]\s*(" + "|".join(sorted(MARKERS, key=len, reverse=True)) + r")\s*[】\]］]\s*[：:]?"
)
_THINK_BLOCK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_RULE_RE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_MD_HEADING_RE = re.compile(r"^\s*#{1,6}\s*")
_MD_BULLET_RE = re.compile(r"^\s*(?:[-*+•·]\s+|>\s*)")
_MD_EMPHASIS_RE = re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|`")
_SOURCE_MARK_RE = re.compile(r"\s*[\[［]\d{1,3}[\]］]")
_ITEM_LEAD_RE = re.compile(r"^[一二三四五六七八九十]+是[，,、：:]?")
_INLINE_ITEM_RE = re.compile(r"(^|[。；;：:！!？?，,])\s*[一二三四五六七八九十]+是")
# commentary a chat model puts around the text
_BEFORE_RE = re.compile(
    r"^(?:好的|好|当然|可以|没问题|明白|收到|以下是|下面是|根据您?的|按照您?的|遵照|我将|我会|这是|现提供|为您)"
)
_AFTER_RE = re.compile(
    r"^(?:以上|上述)(?:内容|是|为|即|便是|文稿|稿件|部分)|^希望(?:以上|这些|本|对您)|^如(?:需|有需要|果需要|您)"
    r"|^(?:请|可)根据实际|仅供参考|供您参考|^(?:注|说明|备注|提示)[：:]|^（(?:注|说明)[：:]"
)
_END = "。！？；!?;"


@dataclass
class Block:
    kind: str  # heading | subheading | lead | body | item | topic
    text: str


@dataclass
class Cleaned:
    """What ``clean``/``parse`` removed from a reply (reported by ``llm check`` and in the tests)."""

    think: bool = False
    markdown: bool = False
    commentary: list[str] = field(default_factory=list)
    markers: bool = False  # the reply used the markers


@dataclass
class Reply:
    blocks: list[Block]
    cleaned: Cleaned


# ---------------------------------------------------------------------------------------------- cleaning
def is_instruction(sentence: str) -> bool:
    """A sentence addressed to a model (an injection the model echoed): the shared judgment."""
    try:
        from ..content.injection import is_instruction as shared
    except ImportError:  # until the shared guard lands (hardening work), the composer's rules
        from .adapt import is_instruction as shared
    return shared(sentence)


def strip_think(text: str) -> tuple[str, bool]:
    """``text`` without reasoning blocks: whole ones, an unterminated one (to the end), and everything
    before a closing tag whose opening tag the server left out."""
    found = False
    if _THINK_BLOCK_RE.search(text):
        text, found = _THINK_BLOCK_RE.sub("", text), True
    close = list(_THINK_CLOSE_RE.finditer(text))[-1:]
    if close:
        close = close[0]
        text, found = text[close.end() :], True
    opened = _THINK_OPEN_RE.search(text)
    if opened:
        text, found = text[: opened.start()], True
    return text, found


def _markup(text: str) -> str:
    """Active markup a model may answer with (scripts, tags, links): the shared guard when present."""
    try:
        from ..content.injection import strip_model_markup
    except ImportError:  # the shared guard lands with the hardening work; tags are still removed here
        return re.sub(r"<(script|style|iframe)[^>]*>.*?</\1>|<[^>\n]{1,200}>", "", text, flags=re.S | re.I)
    return strip_model_markup(text)


def clean(text: str) -> tuple[list[str], Cleaned]:
    """The reply's lines without reasoning, markup, Markdown and source marks (commentary is judged in
    ``parse``, where the markers show where the text begins)."""
    info = Cleaned()
    text, info.think = strip_think(text or "")
    text = _markup(text)
    lines: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip().strip("\u3000")
        if _FENCE_RE.match(line) or _RULE_RE.match(line) or re.fullmatch(r"\|?[\s:|-]+\|?", line or "x"):
            info.markdown = info.markdown or bool(line)
            continue
        stripped = _MD_HEADING_RE.sub("", line)
        stripped = _MD_BULLET_RE.sub("", stripped)
        stripped = _MD_EMPHASIS_RE.sub("", stripped)
        if stripped != line:
            info.markdown = True
        stripped = _SOURCE_MARK_RE.sub("", stripped).strip()
        if stripped.startswith("|") and stripped.endswith("|"):  # a Markdown table row: its cells as text
            stripped, info.markdown = "，".join(c.strip() for c in stripped.strip("|").split("|")), True
        lines.append(stripped)
    return lines, info


# ----------------------------------------------------------------------------------------------- parsing
def _unnumbered(text: str) -> str:
    text = _HEADING_RE.sub("", text.strip())
    return _ITEM_LEAD_RE.sub("", text).strip()


def strip_end(text: str) -> str:
    return text.strip().rstrip("。；;，,：:！!？?、 ")


def _is_commentary_after(line: str) -> bool:
    return bool(_AFTER_RE.search(line))


def parse(text: str) -> Reply:
    """The reply as blocks. Text before the first marker is commentary when markers follow; with no
    markers at all every paragraph is an unmarked ``body`` block (``check`` decides if that will do)."""
    lines, info = clean(text)
    pieces: list[tuple[str | None, str]] = []  # (marker kind or None, text)
    for line in lines:
        if not line:
            pieces.append((None, ""))
            continue
        parts = _MARKER_RE.split(line)  # [before, name, text, name, text, …]
        if parts[0].strip():
            pieces.append((None, parts[0].strip()))
        for i in range(1, len(parts), 2):
            pieces.append((MARKERS[parts[i]], parts[i + 1].strip()))
    info.markers = any(kind for kind, _ in pieces)
    blocks: list[Block] = []
    current: Block | None = None
    for kind, piece in pieces:
        if kind is not None:
            current = Block(kind, piece)
            blocks.append(current)
            continue
        if not piece:
            if current is not None and current.text:
                current = None  # a blank line ends a paragraph
            continue
        if info.markers and not blocks:
            info.commentary.append(piece)  # before the text: 好的，以下是……
            continue
        if not info.markers and not blocks and _BEFORE_RE.search(piece) and piece.rstrip()[-1:] in "：:":
            info.commentary.append(piece)
            continue
        if current is not None and not current.text:
            current.text = piece  # the marker stood alone on its line
        elif current is not None and current.kind in ("body", "item", "lead"):
            current = Block(current.kind if current.kind != "lead" else "body", piece)
            blocks.append(current)
        else:
            current = Block("body", piece)
            blocks.append(current)
    # commentary after the text: trailing paragraphs that talk about the text instead of being it
    while blocks and blocks[-1].kind == "body" and _is_commentary_after(blocks[-1].text):
        info.commentary.append(blocks.pop().text)
    for block in blocks:
        if block.kind in ("heading", "subheading", "topic", "item"):
            block.text = _unnumbered(block.text)
        if block.kind in ("heading", "subheading"):
            block.text = strip_end(block.text)
    return Reply([b for b in blocks if b.text], info)


# ------------------------------------------------------------------------------------------------- shape
_LONE_HEADING_RE = re.compile(
    r"^(?:[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+、|\d+[.．、])\s*(.{2,40})$"
)


def split_inline_heading(text: str) -> tuple[str, str] | None:
    """(sub-heading, rest) when a body paragraph opens with a numbered sub-heading (“（一）加强领导。……”
    or a lone “（一）加强领导” line), else None."""
    m = re.match(r"^(?:[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+、)\s*", text)
    if not m:
        return None
    rest = text[m.end() :]
    end = next((i for i, c in enumerate(rest) if c in _END), -1)
    if end == -1:
        return (strip_end(rest), "") if len(rest) <= 40 else None
    if end > 40:
        return None
    return strip_end(rest[:end]), rest[end + 1 :].strip()


@dataclass
class Shape:
    """What the outline asks of one section (see the module docstring)."""

    form: str  # heading | points | paragraph | topics
    numbering: str  # subheadings | items | none
    headings: list[str] = field(default_factory=list)  # points form: the level-1 headings, in order
    subs: list[str] = field(default_factory=list)  # the sub-points the outline gives ((一)…, 一是…, topics)

    @property
    def marker_guide(self) -> str:
        return {
            "points": "【导语】【标题】【正文】",
            "topics": "【主题句】【正文】",
        }.get(self.form) or {"subheadings": "【小标题】【正文】", "items": "【分项】"}.get(
            self.numbering, "【正文】"
        )


def similar(a: str, b: str) -> bool:
    """Two headings say the same (the model echoed the outline's heading in its own words)."""
    ga, gb = bigrams(a), bigrams(b)
    if not ga or not gb:
        return False
    return len(ga & gb) / min(len(ga), len(gb)) >= 0.5


def normalise(reply: Reply, shape: Shape) -> list[Block]:
    """Blocks with what a model writes instead of markers read as the shape wants: a numbered line under a
    body becomes a sub-heading only where the shape has sub-headings (else the lead of its paragraph), an
    一是 paragraph an item in an items section; never a level-1 heading outside a points section."""
    out: list[Block] = []
    lead = (
        ""  # a numbered line with nothing after it, in a section without sub-headings: the next body's lead
    )
    for block in reply.blocks:
        if lead and block.kind == "body":
            block = Block("body", lead + block.text)
            lead = ""
        if block.kind != "body":
            if block.kind == "heading" and shape.form != "points":
                block = Block("subheading" if shape.numbering == "subheadings" else "lead", block.text)
            out.append(block)
            continue
        inline = split_inline_heading(block.text)
        if inline is not None:
            head, rest = inline
            if shape.form == "points" and re.match(r"^[一二三四五六七八九十]+、", block.text):
                out.append(Block("heading", head))
            elif shape.numbering == "subheadings" or shape.form == "points":
                out.append(Block("subheading", head))
            elif shape.form == "topics":
                out.append(Block("topic", head))
            elif rest:
                rest = f"{head}。{rest}"
            else:
                lead = f"{head}。"
                continue
            if rest:
                out.append(Block("body", rest))
            continue
        if shape.numbering == "items" and shape.form == "heading" and _ITEM_LEAD_RE.match(block.text):
            out.append(Block("item", _ITEM_LEAD_RE.sub("", block.text)))
            continue
        if shape.form == "topics" and not any(b.kind == "topic" for b in reply.blocks):
            first = re.match(rf"^([^{_END}]{{2,20}})[。；]", block.text)
            if first and len(block.text) > len(first.group(0)):  # 对标政治强统领。……
                out += [Block("topic", first.group(1)), Block("body", block.text[first.end() :])]
                continue
        out.append(block)
    if lead:
        out.append(Block("body", lead))
    # a heading line with nothing under it before the next heading reads as the lead of nothing: merge
    merged: list[Block] = []
    for block in out:
        if (
            merged
            and merged[-1].kind == "subheading"
            and block.kind == "subheading"
            and shape.form != "points"
        ):
            merged[-1] = Block("body", merged[-1].text + "。")
        merged.append(block)
    return merged


def check(blocks: list[Block], shape: Shape, markers: bool) -> list[str]:
    """What is wrong with ``blocks`` for ``shape``, in Chinese ([] when they will do)."""
    problems: list[str] = []
    kinds = [b.kind for b in blocks]
    if not blocks:
        return ["没有可用的正文（回复为空，或只有思考过程和说明文字）"]
    if shape.form == "points":
        heads = [b.text for b in blocks if b.kind == "heading"]
        if shape.headings and len(heads) != len(shape.headings):
            problems.append(
                f"提纲规定本部分写 {len(shape.headings)} 条【标题】（{'；'.join(shape.headings)}），"
                f"回复写了 {len(heads)} 条"
            )
        else:
            for want, got in zip(shape.headings, heads, strict=False):
                if not similar(want, got):
                    problems.append(f"【标题】“{got}”与提纲中的“{want}”不符，请按提纲的顺序和标题写")
        if heads and not any(k in ("body", "subheading", "item") for k in kinds[kinds.index("heading") :]):
            problems.append("【标题】下没有正文")
    if shape.form == "paragraph" and "lead" not in kinds:
        problems.append("本段没有标题，须以【导语】开头，点明本段讲的是什么")
    if shape.form == "topics" and "topic" not in kinds:
        problems.append("本部分每段应以【主题句】开头")
    if shape.numbering == "subheadings" and shape.form == "heading" and shape.subs:
        subs = [b.text for b in blocks if b.kind == "subheading"]
        if len(subs) != len(shape.subs):
            problems.append(
                f"提纲规定本部分有 {len(shape.subs)} 个【小标题】（{'；'.join(shape.subs)}），回复写了 {len(subs)} 个"
            )
        else:
            for want, got in zip(shape.subs, subs, strict=False):
                if not similar(want, got):
                    problems.append(f"【小标题】“{got}”与提纲中的“{want}”不符，请按提纲写")
    if shape.numbering == "items" and shape.form != "points" and shape.subs:
        items = sum(1 for b in blocks if b.kind == "item") or sum(
            len(_INLINE_ITEM_RE.findall(b.text)) for b in blocks if b.kind == "body"
        )
        if items and items != len(shape.subs):
            problems.append(
                f"提纲规定本部分有 {len(shape.subs)} 项（{'；'.join(shape.subs)}），回复写了 {items} 项"
            )
    if shape.form == "topics" and shape.subs:
        topics = [b.text for b in blocks if b.kind == "topic"]
        if topics and len(topics) != len(shape.subs):
            problems.append(
                f"提纲规定本部分有 {len(shape.subs)} 个【主题句】（{'；'.join(shape.subs)}），回复写了 {len(topics)} 个"
            )
    if not any(k in ("body", "item", "topic") for k in kinds) and shape.form != "points":
        problems.append("只有标题或导语，没有正文")
    if problems and not markers:  # numbering lines that happen to fit the outline are accepted as such
        problems.insert(0, f"没有使用规定的标记（本部分应使用{shape.marker_guide}，每个标记单独起一行）")
    return problems
