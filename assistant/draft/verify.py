"""The model path's faithfulness guard: it marks what the writer must check, it never rewrites.

A model writes fluent sentences that may name a department, a person or a place the writer never supplied,
or state a figure nobody gave it. Rewriting them (the composer's guard turns another unit's name into the
writer's) corrupts correct text — “市应急管理局要…，市住房城乡建设局要…” becoming “我们要…，我们要…” —
and dropping them loses the writer's sentence. So here a sentence keeps every word; what cannot be traced
to the request, the materials or the bodies the writer listed (``DraftRequest.bodies``) gets a
``【核实：…】`` mark before its end punctuation and a ``Span.note`` saying why. What passes unmarked:
superior organs (党中央, 省委, 市政府…), generic role nouns (各部门, 有关单位, 乡镇党委), the writer's own
unit and its short forms, national documents in 《》 (a title that names no local body or place), the fixed
political numerals (``prompts/fixed_numerals.txt``: 三个必须, 两个维护…) and the counts the outline itself
states (讲四点意见). Wrong 提法 and placeholder marks are marked with what is wrong. Only a sentence addressed
to a model (an echoed injection) is dropped: it is never 公文 text.

"A number" is the evals' definition (``metrics.line_numbers`` through ``adapt.figures_in``), so a figure the
guard lets through is one the numbers check accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..content import hygiene, lexicon
from ..evals import metrics
from ..records import DraftRequest, Outline
from .adapt import figures_in

MARK = "核实"
_MARK_RE = re.compile(r"【核实：[^】]*】")
_END = "。！？；!?;"
_CLOSERS = "”’」』）)"
_BOOK_RE = re.compile(r"《([^《》]{1,60})》")
# a 《title》 that belongs to a local body: issued by a 市/县/区 organ or naming a place
_LOCAL_TITLE_RE = re.compile(r"(?:^|关于)(?:[省市县区州][委直]|[省市县区州](?:政府|人民政府)|全[省市县区])")
# organisations a generic noun names (各部门, 全市各单位, 有关单位…) and look-alikes that are no body
_GENERIC_START = ("各", "全", "有关", "相关", "上级", "基层", "所有", "本", "该", "我", "此", "所属", "下属")
_NOT_ORG_START = re.compile(
    r"^(?:区域|区别|区分|区间|市场|县域|乡村|村镇|省级|市级|县级|区级|镇级|村级|省内|市内|县内)"
)
_COUNT_RE = re.compile(r"^(?:点|个方面|方面|项|条|个部分|部分|大|个)")
_PERSON_TITLES = re.compile(
    r"^(?:同志|书记|副书记|局长|副局长|主任|副主任|部长|处长|科长|县长|副县长|市长|副市长|镇长|乡长|"
    r"主席|委员|院长|校长|总经理|董事长|队长|所长|站长)"
)
_NAME_ALLOW = frozenset(
    ["习近平", "毛泽东", "邓小平", "马克思", "列宁", "中国", "中华", "全国", "全省", "全市"]
)
_PLACE_END = re.compile(r"[省市县区镇乡村]$")
# a suffix followed by one of these characters is the first character of another word (局面, 所有, 村民)
_NOT_A_SUFFIX = {"局": "面势限部", "所": "有在以属谓", "村": "民级", "镇": "静", "乡": "亲土", "院": "落子"}
# a body's first character that ends the word before it (园区同乡…, 城市社区, 乡镇卫生院): no name starts there
_WORD_BEFORE = {
    "区": "园社景小辖城山片库矿郊牧灾林营校厂街",
    "市": "城都超门",
    "镇": "城乡",
    "乡": "城家下",
    "村": "乡农",
}
_COMMON_PLACES = frozenset(
    ["城市", "农村", "城乡", "乡村", "城镇", "山区", "地方", "边疆"]
)  # jieba's ns, no name
_PLACE_TAILS = frozenset(["省", "市", "县", "区", "镇", "乡", "村", "街道", "社区"])
_WEAK_ENDS = "乡镇村所区"  # ORG_RE's shortest match may end inside a longer name (市住房城乡|建设局)
_STRONG_ORG_RE = re.compile(
    r"(?:[省市县区州]|市委|市直|县直|省直|区直)[^和与及的在对把将为从向是了、，。；：“”（）\s]{1,12}?"
    r"(?:管理局|局|委员会|厅|办公室|工委|中心|研究院|医院|公司|集团)"
)


@dataclass
class Finding:
    text: str  # as written in the sentence
    why: str  # 数字 | 单位名称 | 人名 | 地名 | 文件名称 | a 提法/hygiene label


@dataclass
class Verdict:
    text: str  # the sentence as it goes into the draft ("" when dropped)
    findings: list[Finding] = field(default_factory=list)
    dropped: bool = False

    @property
    def note(self) -> str:
        if not self.findings:
            return ""
        plain = [f for f in self.findings if f.why in _PLAIN_KINDS]
        other = [f.why for f in self.findings if f.why not in _PLAIN_KINDS]
        parts = []
        if plain:
            shown = "、".join(f"“{f.text}”（{f.why}）" for f in plain)
            parts.append(f"材料和可提及的单位中没有{shown}，请核实或删改")
        return "；".join(parts + other)


_PLAIN_KINDS = ("数字", "单位名称", "人名", "地名", "文件名称")


@lru_cache(maxsize=8)
def _fixed(prompts_dir: str) -> tuple[str, ...]:
    return metrics.fixed_numerals(prompts_dir)


def _cut(text: str) -> list[tuple[str, str]]:
    from jieba import posseg

    return [(w.word, w.flag) for w in posseg.cut(text)]


class Verifier:
    """Marks a model's sentences for the writer (see the module docstring). ``outline`` supplies the counts
    a draft states about itself; ``year`` the year the 提法 list is read for."""

    def __init__(self, request: DraftRequest, prompts_dir: Path, outline: Outline | None = None) -> None:
        self.request = request
        self.prompts_dir = Path(prompts_dir)
        r = request
        self.allowed = "\n".join(
            [r.topic, r.unit, r.occasion, r.audience, r.speaker, *r.points, *r.materials, *r.bodies]
        )
        self.supported = metrics.request_support(r, list(r.bodies))
        self.fixed = _fixed(str(self.prompts_dir))
        self.counts = _outline_counts(outline)
        self.year = r.year

    # -- what may be named -------------------------------------------------------------------------------
    def _known(self, name: str) -> bool:
        if not name or name in self.allowed:
            return True
        return any(body and (body in name or name in body) for body in self.request.bodies)

    def _org_ok(self, name: str, start: int, sentence: str) -> bool:
        before = sentence[max(0, start - 2) : start]
        if name in lexicon.SUPERIORS or self._known(name) or _NOT_ORG_START.match(name):
            return True
        if name.startswith(_GENERIC_START) or before.endswith(_GENERIC_START) or "各" in name[:4]:
            return True
        unit = self.request.unit
        short = re.sub(r"(?:机关)?(?:党支部|党总支|党委|党组)$", "", unit)
        if short and (name in short or short in name and len(name) - len(short) <= 4):
            return True
        # a known body followed by the words after it (县委组织部高度重视…) names nothing new
        known = [unit, short, *self.request.bodies, *lexicon.SUPERIORS]
        return any(k and len(k) >= 3 and name.startswith(k) for k in known)

    def organisations(self, sentence: str) -> list[Finding]:
        out: list[Finding] = []
        for start, name in org_names(sentence):
            if not any(name in f.text for f in out) and not self._org_ok(name, start, sentence):
                out.append(Finding(name, "单位名称"))
        return out

    def titles(self, sentence: str) -> tuple[list[Finding], list[str]]:
        """Findings for 《titles》 of local bodies, and the titles that pass (their numerals are names)."""
        flagged, passing = [], []
        for m in _BOOK_RE.finditer(sentence):
            title = m.group(1).strip()
            local = _LOCAL_TITLE_RE.search(title) or any(
                flag == "ns" and word not in _NAME_ALLOW and not self._known(word)
                for word, flag in _cut(title)
            )
            if self._known(title) or not local:
                passing.append(m.group(0))
            else:
                flagged.append(Finding(m.group(0), "文件名称"))
        return flagged, passing

    def people_and_places(self, sentence: str, known: list[Finding]) -> list[Finding]:
        out: list[Finding] = []
        words = _cut(sentence)
        for i, (word, flag) in enumerate(words):
            if len(word) < 2 or word in _NAME_ALLOW or word in _COMMON_PLACES:
                continue
            if self._known(word) or word.startswith(_GENERIC_START):
                continue
            if any(word in f.text for f in known):
                continue
            following = words[i + 1][0] if i + 1 < len(words) else ""
            if flag in ("nr", "nrfg", "nrt") and _PERSON_TITLES.match(following):
                out.append(Finding(word, "人名"))
            elif flag == "ns" and _PLACE_END.search(word) and len(word) >= 3:
                out.append(Finding(word, "地名"))
            elif (flag == "ns" or flag == "nr" and len(word) <= 3) and (tail := _place_tail(following)):
                if self._known(word + tail):
                    continue
                out.append(Finding(word + tail, "地名"))  # 青山 + 镇党委, 云溪 + 县政府
        return out

    def numbers(self, sentence: str, allow: tuple[str, ...]) -> list[Finding]:
        out = []
        for figure in figures_in(sentence, allow):
            if figure.value is not None and figure.value in self.supported:
                continue
            if figure.value is None and figure.text in self.allowed:
                continue  # an ordinal or a quoted numeral the writer wrote (第三轮督察, “五型”机关)
            after = sentence[figure.end :]
            if figure.value is not None and _COUNT_RE.match(after) and figure.value in self.counts:
                continue  # 讲四点意见, 三个方面: the outline's own counts
            shown = figure.text
            unit = re.match(r"[个次名人项家处元万亿%％条件所座户起年月日天届批期倍点]", after)
            out.append(Finding(shown + (unit.group(0) if unit else ""), "数字"))
        return out

    def wording(self, sentence: str) -> list[Finding]:
        """Wrong 提法 and placeholder marks (a model's ×× or XX)."""
        issues = [
            label
            for label in hygiene.sentence_issues(sentence, self.year)
            if not label.startswith(hygiene.KIND_LABELS["gap"])  # scraping gaps are a corpus affliction
        ]
        return [Finding(label, label) for label in issues]

    # -- the guard ---------------------------------------------------------------------------------------
    def check(self, sentence: str) -> Verdict:
        from .llm_reply import is_instruction

        text = sentence.strip()
        if not text:
            return Verdict("", dropped=True)
        if is_instruction(text):
            return Verdict("", dropped=True)
        bare = _MARK_RE.sub("", text)
        flagged_titles, passing = self.titles(bare)
        findings = self.organisations(bare)
        findings += flagged_titles
        findings += self.people_and_places(bare, findings)
        findings += self.numbers(bare, self.fixed + tuple(passing))
        findings += self.wording(bare)
        unique: dict[str, Finding] = {}
        for f in findings:
            unique.setdefault(f.text, f)
        findings = list(unique.values())
        if not findings or _MARK_RE.search(text):
            return Verdict(text, findings)
        return Verdict(mark(text, findings), findings)


# a sector's short unit name anywhere in a sentence (新形势下人社局…): the lexicon's pattern without its
# look-behind, which only serves to delimit names at ingest
_SECTOR_ORG_RE = re.compile(re.sub(r"^\(\?<!\[[^\]]*\]\)", "", lexicon.SHORT_ORG_RE.pattern))


def org_names(sentence: str) -> list[tuple[int, str]]:
    """(start, name) of the organisations a sentence names: 市/县/区… bodies (the longest reading:
    市住房城乡建设局, not 市住房城乡) and sectors' short names (人社局, 卫健委)."""
    out: list[tuple[int, str]] = []
    for m in lexicon.ORG_RE.finditer(sentence):
        name = m.group(0)
        longer = _STRONG_ORG_RE.match(sentence, m.start())
        if longer and name[-1] in _WEAK_ENDS and len(longer.group(0)) - len(name) <= 6:
            name = longer.group(0)
        after = sentence[m.start() + len(name) : m.start() + len(name) + 1]
        if _NOT_A_SUFFIX.get(name[-1:], "") and after and after in _NOT_A_SUFFIX[name[-1:]]:
            continue  # 培训班新局面, 所有: the suffix is the start of another word
        if m.start() and sentence[m.start() - 1] in _WORD_BEFORE.get(name[0], ""):
            continue
        if name[-1] in _WEAK_ENDS and len(name) > 8:
            continue  # 县委组织部高度重视加强村(级…): a clause, not a name
        out.append((m.start(), name))
    for m in _SECTOR_ORG_RE.finditer(sentence):
        if m.group(0)[-1] in "局厅委" and not any(s <= m.start() < s + len(n) for s, n in out):
            out.append((m.start(), m.group(0)))
    return out


def _place_tail(word: str) -> str:
    """The place suffix a token starts with (镇党委 → 镇), "" for none."""
    for tail in ("街道", "社区"):
        if word.startswith(tail):
            return tail
    return word[:1] if word[:1] in _PLACE_TAILS and word[:2] not in _NOT_PLACE else ""


_NOT_PLACE = frozenset(["市场", "区域", "区别", "县域", "村民", "镇静", "乡村", "村级", "市级", "县级"])


def mark(sentence: str, findings: list[Finding]) -> str:
    """``sentence`` with ``【核实：…】`` before its end punctuation (and closing quote)."""
    shown = "、".join(f.text if f.why in _PLAIN_KINDS else f.why.split("：")[0] for f in findings)
    tag = f"【{MARK}：{shown}】"
    cut = len(sentence)
    while cut and sentence[cut - 1] in _END + _CLOSERS:
        cut -= 1
    return sentence[:cut] + tag + sentence[cut:]


def _outline_counts(outline: Outline | None) -> set[str]:
    """The counts a draft may state about its own structure: the number of parts and of each part's
    sub-points (as canonical values, like ``metrics``)."""
    if outline is None:
        return set()
    counts = {len(outline.items)} | {len(item.points) for item in outline.items if item.points}
    counts |= {sum(1 for item in outline.items if item.form in ("heading", "points"))}
    return {str(n) for n in counts if n}
