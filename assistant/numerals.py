"""Chinese numerals as used in 公文 numbering (一、 （一） 一是): 1–99 both ways."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
_VALUES = {c: i for i, c in enumerate(DIGITS)} | {"两": 2, "〇": 0}


def to_chinese(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 35 -> 三十五 (1..99)."""
    if not 1 <= n <= 99:
        raise ValueError(f"numeral out of range: {n}")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    head = "" if tens == 1 else DIGITS[tens]
    return head + "十" + (DIGITS[ones] if ones else "")


def from_chinese(s: str) -> int | None:
    """一 -> 1, 十二 -> 12, 二十 -> 20; None when ``s`` is not a numeral 1..99."""
    if not s:
        return None
    if "十" in s:
        head, _, tail = s.partition("十")
        if len(head) > 1 or len(tail) > 1:
            return None
        tens = 1 if head == "" else _VALUES.get(head)
        ones = 0 if tail == "" else _VALUES.get(tail)
        if tens is None or ones is None or tens == 0:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _VALUES and _VALUES[s] > 0:
        return _VALUES[s]
    return None


def item_marker(n: int) -> str:
    """The paragraph-leading item marker: 1 -> 一是, 2 -> 二是."""
    return to_chinese(n) + "是"


def level_marker(level: int, n: int) -> str:
    """The heading number as the standard writes it: 1 -> 一、, 2 -> （一）, 3 -> 1., 4 -> （1）."""
    if level == 1:
        return to_chinese(n) + "、"
    if level == 2:
        return f"（{to_chinese(n)}）"
    if level == 3:
        return f"{n}."
    if level == 4:
        return f"（{n}）"
    raise ValueError(f"heading level out of range: {level}")
