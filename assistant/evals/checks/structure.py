"""Shape checks: required sections by role, their order, numbering sequence and forms, opening and
closing formulas, length, leftovers."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ...doctypes import DocType
from ...numerals import from_chinese, to_chinese
from ...records import DraftRequest, ParsedDocument
from .result import MetricResult, _result
from .text import (
    _ITEM,
    _L1,
    _L2,
    _L3,
    _L4,
    _LEFTOVERS,
    _PLACEHOLDER,
    LENGTH_TOLERANCE,
    _is_heading_line,
    _Text,
    split_sentences,
)


# ------------------------------------------------------------------------------------- structure helpers
@dataclass
class _Block:
    """A top-level part of the draft as the checks see it."""

    role: str
    kind: str  # heading | topic | body | salutation | opening | closing | item
    title: str


def _parse(text: str, doctype: DocType) -> ParsedDocument | None:
    from ...index import structure

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
    item_last, item_where = 0, ""

    def lone(last_item: int, where: str) -> None:  # a group that ends at 一是 has no 二是 to go with it
        if last_item == 1:
            problems.append(f"只有“一是”没有“二是”：{where}…")
            snippets.append("一是")

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
            lone(item_last, item_where)
            item_last = 0
        for im in _ITEM.finditer(line):
            k = from_chinese(im.group(1))
            if k is None:
                continue
            counts["一是"] += 1
            if k == 1:
                lone(item_last, item_where)
                item_last, item_where = 1, line[im.start() : im.end() + 10]
            elif k == item_last + 1:
                item_last = k
            else:
                where = line[max(0, im.start() - 6) : im.end() + 10]
                problems.append(
                    f"“X是”不连续：…{where}…（前一个是“{to_chinese(item_last) + '是' if item_last else '无'}”）"
                )
                snippets.append(im.group(0))
                item_last = k
    lone(item_last, item_where)
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
