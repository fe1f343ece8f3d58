"""Text addressed to a model, and characters or markup no 公文 carries: one guard for every path.

Corpus documents are other people's text: one may carry a sentence written for a model (a prompt injection:
“忽略以上要求…”, a fake 【系统】 block, a “（注：起草本部分时应当…）” note, “disregard everything above”), and a
model may answer with ``<script>`` or ``javascript:`` links. This module decides, once for the composer, the
model path and the prompt builder:

- ``is_instruction(sentence)``: is the sentence addressed to a model or to this tool?
- ``drop_instructions(text)``: ``text`` without such sentences, and without a fake role block as a whole;
- ``fence_safe(text)``: ``text`` that cannot close or forge a prompt fence (``<<<范文[n] … 范文[n]>>>``);
- ``strip_model_markup(text)`` / ``StreamCleaner``: model text without active markup, whole or streamed
  (streamed, also without instruction sentences);
- ``strip_controls(text)``: text without ANSI escapes, bidi overrides, zero-width and control characters.

Matching runs on a folded copy of the sentence (format characters removed, NFKC, Cyrillic/Greek look-alikes of
Latin letters mapped, traditional characters simplified by OpenCC, spaces between Chinese characters
removed, lower case), so a shape disguised by a zero-width space, full-width letters or 繁體 is the same
shape. The trade-off: the patterns are rules, not a classifier; a 公文 sentence that happens to say
“忽视上述要求” is dropped with the injections (the seed and sample corpora have none: tests check that), and an
injection in words none of the rules know gets through to the faithfulness guard, which still refuses its
figures and names.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import regex

# ---- control and format characters ----------------------------------------------------------------------
# ANSI/VT escape sequences (CSI, OSC, other ESC sequences) and their 8-bit forms, removed whole so that no
# parameter text ("[31m") is left behind.
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI … final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC … BEL or ST (a title or hyperlink)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence, or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_LINE_BREAKS_RE = re.compile(r"\r\n?|[\u2028\u2029]")
# Control (C0 other than tab and newline, DEL, C1), format (bidi overrides and isolates, zero-width, soft
# hyphen, tag characters), surrogate and non-character code points: none belongs in a 公文, a terminal should
# never receive them, and XML (a .docx) cannot hold most of them.
_UNWANTED_RE = regex.compile(r"(?![\n\t])[\p{Cc}\p{Cf}\p{Cs}\uFFFE\uFFFF]")


def strip_controls(text: str) -> str:
    """``text`` without ANSI escape sequences, bidi overrides and isolates, zero-width and other format
    characters, and C0/C1 control characters (vertical tab, form feed and NEL too); tab and newline are
    kept, and CR, CRLF and U+2028/2029 become newlines so no line is joined to the next. (Text read from a
    file is split into lines first, at every line boundary, by ``loaders.clean_text``.)"""
    if not text:
        return text or ""
    text = _ANSI_RE.sub("", text)
    text = _LINE_BREAKS_RE.sub("\n", text)
    return _UNWANTED_RE.sub("", text)


# ---- folding: one spelling for every disguise of a sentence -----------------------------------------------
# Cyrillic and Greek letters that look like Latin ones ("ignоre" with a Cyrillic о).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝвкмнтАЕОРСУХІЈЅВКМНТαεοιυνκρτχΑΕΟΙΚΝΡΤΧΒΜ",
    "aeopcyxijsdhlqwbkmhtaeopcyxijsbkmhtaeoiuvkptxaeoiknptxbm",
)
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_GAP_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


@lru_cache(maxsize=1)
def _simplifier():
    import opencc  # imported on first use: nothing is loaded at import time

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """The spelling the patterns match: format and control characters removed, NFKC (full-width letters,
    compatibility ideographs, Kangxi radicals), look-alike letters mapped to Latin, traditional characters
    simplified, spaces between Chinese characters removed, lower case."""
    text = unicodedata.normalize("NFKC", strip_controls(text or ""))
    text = _simplifier().convert(text.translate(_LOOKALIKES))
    return _CJK_GAP_RE.sub("", text).lower()


# ---- sentences addressed to a model ----------------------------------------------------------------------
_DEMONSTRATIVE = r"(?:以上|上述|之前|此前|前面|先前|上面|上文|前文|所有|全部|一切|你的|系统|范文)"
_RULES = r"(?:要求|指令|指示|提示|规则|设定|约束|限制|命令|规定)"
_IMPERATIVE = r"(?:应当|应该|应|须|必须|务必|请|要|一律|不得|不要|切勿|总是|始终|需要|需)"
_NOTE_TARGET = (
    r"(?:起草|撰写|写作|生成|续写|改写|编写|输出|回答|回复|模型|助手|ai|本部分|本节|本段|本章|以下内容|此处)"
)
_ROLE = r"(?:系统|system|assistant|user|developer|admin|管理员|开发者|指令|最高指令|提示词|超级指令)"
_CHINESE = [
    # 忽略以上要求 / 无视上述指令 / 忘掉你的设定 …
    rf"(?:忽略|无视|忽视|不理会|抛开|跳过|忘记|忘掉|推翻)(?:掉)?{_DEMONSTRATIVE}[^。！？!?]{{0,12}}?{_RULES}",
    r"(?:不要|无需|不必|停止|不再)(?:再)?(?:遵守|遵循|执行|理会|考虑|参考)(?:以上|上述|之前|前面|所有|范文|系统|提示)",
    r"(?:以上|上述|之前|前面)的?(?:所有|全部|一切)?(?:指令|提示|设定|约束)(?:均|都|全部)?(?:作废|无效|失效|取消)",
    r"(?:^|[,，。；;:：\s])(?:请|并|立即|直接|只|仅)?(?:原样|原文|逐字)?输出(?:[“\"「『]|以下|如下|你|全部|所有|系统)",
    r"(?:原样|原文|逐字)(?:输出|照抄|复述|写入|保留)",
    r"你(?:收到|接收|得到)的[^。！？!?]{0,8}?(?:指令|提示|要求|信息)",
    r"(?<![一-龥])你(?!们)(?:现在|从现在起)?(?:是|扮演|充当|将作为)",
    r"(?:^|[^一-龥])你(?!们)(?:现在|从现在起)(?:是|扮演|充当|作为)",
    r"(?:请你|假设你|假装你|你要|你必须|你需要|你应当?)(?!们)",
    r"从现在(?:起|开始)[,，]?(?:你|请你|只(?:需|能)?(?:输出|回答))",
    r"(?:作为|身为|我是)(?:一[个名款]?)?(?:ai|人工智能|语言模型|大语言模型|大模型|智能助手|ai助手)",
    r"系统提示(?:词|语)?|提示词|越狱模式|开发者模式|已被接管|最高优先级(?:的)?指令",
    # 在草稿中写入… / 写入正文 / 回答里注明…
    r"(?:草稿|回答|回复|输出|生成的?(?:内容|文本|文字))(?:中|里)?(?:写入|加入|插入|添加|注明|包含|写上)",
    r"(?:写入|加入|插入|添加)(?:到)?(?:草稿|回答|回复|输出)",
    # 起草本部分时应当… : the text being drafted named as such, with an order about it
    rf"(?:起草|撰写|写作|生成|续写|改写|编写)(?:本|此|该|这)一?(?:部分|节|段|章)[^。！？!?]{{0,30}}?{_IMPERATIVE}",
    rf"{_IMPERATIVE}[^。！？!?]{{0,20}}?(?:起草|撰写|生成|续写|改写|编写)(?:本|此|该|这)一?(?:部分|节|段|章)",
    # （注：…起草…应当…）: a note to whoever writes the text
    rf"(?:^|[(\[【〔])\s*(?:注|备注|提示|说明|特别提示|特别说明|编者注|编者按|写作提示|起草说明|写作要求|起草要求)\s*[:：]"
    rf"(?=[^)\]】〕]{{0,80}}?{_NOTE_TARGET})(?=[^)\]】〕]{{0,80}}?{_IMPERATIVE})",
    # a fake role block: 【系统】, [system], <|im_start|>, [INST], <<SYS>>, 系统：… at a sentence's start
    r"【\s*/?\s*(?:系统|system|assistant|指令|最高指令|管理员|开发者|超级指令)[^】]{0,6}】",
    rf"(?:^|[。！？!?;；])\s*[\[〔<(]\s*/?\s*{_ROLE}[^\]〕>)]{{0,6}}[\]〕>)]",
    rf"(?:^|[。！？!?;；])\s*(?:{_ROLE}|系统消息|系统通知)(?:消息|提示|指令|通知)?\s*[:：]",
    r"<\|?\s*/?\s*(?:im_start|im_end|system|assistant|user|endoftext)\s*\|?>|\[/?inst\]|<</?sys>>",
    # addressing a model by name at a sentence's start
    r"(?:^|[。！？!?;；])\s*(?:亲爱的|尊敬的)?(?:ai|人工智能助手|助手|大模型|语言模型|chatgpt|gpt|deepseek|qwen|通义千问|文心一言|kimi)\s*[,，:：]",
    r"jailbreak",
]
_ENGLISH = [
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.!?]{0,40}?\b(?:above|previous|prior|earlier"
    r"|preceding|instructions?|prompts?|rules|guidelines|everything|context|directions?)\b",
    r"\byou\s+are\s+(?:now|no\s+longer)\b|\byou\s+(?:must|will|should)\s+(?:now|only|always)\b",
    r"\b(?:act|behave|respond|pretend)\s+(?:as|like|to\s+be)\b",
    r"\bnew\s+(?:instructions?|rules|task)\b|\b(?:system|developer)\s+(?:prompt|message|instructions?)\b",
    r"\bsystem\s*prompt\b|\bdo\s+anything\s+now\b|\bdan\s+mode\b|\brepeat\s+after\s+me\b",
    r"\b(?:output|print|write|say)\s+(?:the\s+following|exactly|only|verbatim|your\s+(?:instructions|prompt))\b",
]
_INSTRUCTION_RE = re.compile("|".join(_CHINESE + _ENGLISH), re.IGNORECASE)


def is_instruction(sentence: str) -> bool:
    """Whether ``sentence`` speaks to a model or to this tool rather than being 公文 prose: 忽略以上要求…,
    输出“…”, 你现在是…, 作为AI…, a fake 【系统】/[system]/<|im_start|> block, a “（注：起草本部分时应当…）”
    note, “ignore/disregard everything above”, in any disguise ``fold`` undoes."""
    return bool(sentence) and bool(_INSTRUCTION_RE.search(fold(sentence)))


# A fake role block opens with a marker (【系统】, [system], <|im_start|>system) and runs to its closing
# marker (【/系统】, <|im_end|>), else to the end of its line, or over the next line when the marker stands
# alone on its line: what it carries is the injection's payload, whatever its sentences say. Matched on the
# text itself (after ``strip_controls``), so full-width and traditional spellings are listed here.
_RAW_ROLE = r"(?:系统|系統|ｓｙｓｔｅｍ|system|assistant|user|developer|admin|管理员|管理員|开发者|開發者|指令|最高指令|超级指令|超級指令)"
_BLOCK_OPEN_RE = re.compile(
    rf"(【)\s*({_RAW_ROLE})[^】/]{{0,6}}】|([\[［])\s*({_RAW_ROLE})[^\]］/]{{0,6}}[\]］]"
    r"|<\|?\s*(?:im_start|system)\s*\|?>(?:\s*system)?|<<sys>>|\[inst\]",
    re.IGNORECASE,
)
_BLOCK_REACH = 2000  # characters a closing marker is looked for after its opening one


def _closer(opened: re.Match) -> re.Pattern:
    """The closing marker of the block ``opened`` starts: 【/系统】 for 【系统】, [/system] for [system]…"""
    if opened.group(1):
        return re.compile(rf"【\s*/\s*{re.escape(opened.group(2))}[^】]{{0,6}}】", re.IGNORECASE)
    if opened.group(3):
        return re.compile(rf"[\[［]\s*/\s*{re.escape(opened.group(4))}[^\]］]{{0,6}}[\]］]", re.IGNORECASE)
    return re.compile(r"<\|?\s*(?:im_end|/system)\s*\|?>|<</sys>>|\[/inst\]", re.IGNORECASE)


_SENTENCE_RE = re.compile(r"[^。！？；!?;\n]+(?:[。！？；!?;]+[”’」』）)]*)?|\n")


def _drop_blocks(text: str) -> str:
    out: list[str] = []
    position = 0
    while True:
        opened = _BLOCK_OPEN_RE.search(text, position)
        if opened is None:
            out.append(text[position:])
            return "".join(out)
        out.append(text[position : opened.start()])
        closed = _closer(opened).search(text, opened.end(), opened.end() + _BLOCK_REACH)
        line_end = text.find("\n", opened.end())
        line_end = len(text) if line_end < 0 else line_end
        if closed is not None:
            position = closed.end()
        elif text[opened.end() : line_end].strip():
            position = line_end
        else:  # the marker alone on its line: the block is the next line
            following = text.find("\n", line_end + 1)
            position = len(text) if following < 0 else following


def drop_instructions(text: str) -> str:
    """``text`` without fake role blocks (marker to closing marker, or to the end of the line) and without
    any sentence ``is_instruction`` flags; line breaks are kept."""
    if not text:
        return text or ""
    text = _drop_blocks(strip_controls(text))
    return "".join(s for s in _SENTENCE_RE.findall(text) if not is_instruction(s))


# ---- prompt fences ---------------------------------------------------------------------------------------
# The prompt fences corpus text and materials as <<<范文[n] … 范文[n]>>> (and <<<材料n … 材料n>>>). Text inside
# a fence must not be able to close it or open another: a run of angle brackets of any look (ASCII, full-width,
# small ﹤﹥, guillemets, ≪≫, ⟨⟩, 〈〉), even with spaces or zero-width characters between them, and any single
# "double" bracket (≫ « ⟫) becomes one full-width bracket; a reference label (范文[3], 范 文【3】, 范文［３］)
# becomes 范文（3）. Single 《》 book-title marks and a single 〈〉 are left alone.
_OPENERS = "<＜‹«〈⟨﹤≪⟪"
_CLOSERS = ">＞›»〉⟩﹥≫⟫"
_GAP = r"[\s\u200b-\u200f\u2060-\u2064\ufeff]*"
_FENCE_OPEN_RE = re.compile(rf"[{_OPENERS}](?:{_GAP}[{_OPENERS}])+|[«≪⟪]")
_FENCE_CLOSE_RE = re.compile(rf"[{_CLOSERS}](?:{_GAP}[{_CLOSERS}])+|[»≫⟫]")
_FENCE_LABEL_RE = re.compile(rf"范{_GAP}文{_GAP}[\[［【〔(（]{_GAP}([0-9０-９]+){_GAP}[\]］】〕)）]")


def fence_safe(text: str) -> str:
    """``text`` with anything that looks like a prompt fence (``<<<``, ``>>>``, ``范文[n]`` in any look-alike
    spelling) neutralised, so corpus or material text cannot end its block early or forge another."""
    text = _FENCE_OPEN_RE.sub("＜", text or "")
    text = _FENCE_CLOSE_RE.sub("＞", text)
    return _FENCE_LABEL_RE.sub(lambda m: f"范文（{unicodedata.normalize('NFKC', m.group(1))}）", text)


# ---- active markup in model text -------------------------------------------------------------------------
# A 公文 has no markup at all; what a model adds is either harmless formatting (``**``, ``#``, handled where the
# reply is split into lines) or something a browser or editor acts on. The elements below are removed with
# their content (an unclosed one runs to the end), every other tag is removed and its text kept, links keep
# their text, and the script schemes are removed wherever they stand. Entities are decoded first, so
# ``&lt;script&gt;`` cannot come back as a tag once the text is rendered.
_ACTIVE_ELEMENT_RE = re.compile(
    r"<\s*(script|style|iframe|object|embed|applet|frameset|frame|noscript|template|svg|math|xml)\b[^>]*>"
    r".*?(?:<\s*/\s*\1\s*>|$)",
    re.IGNORECASE | re.DOTALL,
)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)|<!\[CDATA\[.*?(?:\]\]>|$)", re.DOTALL)
_TAG_RE = re.compile(r"<\s*/?\s*[a-z!?][^<>]*(?:>|$)", re.IGNORECASE)
_URL_CHAR = "[^\\s()<>\"'\u0080-\U0010ffff]"  # printable ASCII: a URL ends where Chinese text resumes
_PARENS = rf"(?:{_URL_CHAR}|\({_URL_CHAR}*\))*"  # with one level of balanced parentheses: alert(1)
_LINK_RE = re.compile(rf"!?\[([^\]\n]*)\]\(\s*{_PARENS}(?:\s+[\"'][^\"'\n]*[\"'])?\s*\)")
# (case-insensitive only where named: under a global IGNORECASE the URL class, which excludes non-ASCII,
# would also exclude i, k and s, whose case folds include ı, K and ſ)
_SCHEME_RE = re.compile(
    rf"(?i:(?:java|vb|live|moz-?)?script)\s*:{_PARENS}|(?i:data)\s*:\s*(?i:[a-z]+/[a-z+.-]+)[;,]{_PARENS}"
    r"|(?i:on[a-z]+)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+)"
)


def strip_model_markup(text: str) -> str:
    """``text`` (a model's reply) without ``<script>``, ``<iframe>``, ``<style>``, ``<object>``… elements,
    HTML tags and comments, link syntax (the link text is kept), ``javascript:``/``vbscript:``/``data:``
    URLs and ``on…=`` handlers, and without control characters; ``[n]`` source marks are kept."""
    text = strip_controls(html.unescape(text or ""))
    text = _ACTIVE_ELEMENT_RE.sub("", text)
    text = _COMMENT_RE.sub("", text)
    text = _TAG_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    return _SCHEME_RE.sub("", text)


class StreamCleaner:
    """A model's reply cleaned while it streams, for the text shown as it arrives: active markup stripped
    (``strip_model_markup``, per line) and sentences addressed to a model (``is_instruction``) dropped.

    A sentence goes out once the next one has begun and nothing before it on its line can begin markup (a
    ``<``, ``&``, ``[``, ``!`` or ASCII letter holds the rest of the line until its newline, or ``finish``).
    Chinese prose therefore streams sentence by sentence, and nothing is shown that the cleaned whole would
    not hold."""

    _HOLD_RE = re.compile(r"[<&\[!A-Za-z]")

    def __init__(self) -> None:
        self._line = ""  # the unfinished line, raw
        self._decided = 0  # sentences of the unfinished line already passed on or dropped

    def _pass(self, text: str, final: bool) -> str:
        pieces = [p for p in _SENTENCE_RE.findall(text) if p != "\n"]
        if not final and pieces:
            pieces.pop()  # the last sentence may still grow (its closing quote, or the rest of it)
        fresh, self._decided = pieces[self._decided :], 0 if final else len(pieces)
        return "".join(p for p in fresh if not is_instruction(p))

    def feed(self, piece: str) -> str:
        self._line += piece or ""
        out: list[str] = []
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            out.append(self._pass(strip_model_markup(line), final=True) + "\n")
        hold = self._HOLD_RE.search(self._line)
        out.append(
            self._pass(strip_controls(self._line[: hold.start()] if hold else self._line), final=False)
        )
        return "".join(out)

    def finish(self) -> str:
        rest = self._pass(strip_model_markup(self._line), final=True)
        self._line = ""
        return rest
