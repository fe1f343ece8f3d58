"""The one definition of what a drafting request's text fields may hold: size limits and markup stripping.

The CLI, the web form and the ``/draft`` API all reach ``drafting``, which applies these rules, so no
channel can send a 100,000-character topic or a ``<script>`` key point into a draft; the web form applies
the same rules earlier only to word its errors for the form. The trade-off: markup is removed by pattern,
not parsed, so a writer who really means ``**`` or ``<b>`` in a 公文 field loses it, which is what a 公文
wants anyway. Limits are checked on the raw text first (up to twice the limit, room for markup), so the
stripping never runs on a huge paste.
"""

from __future__ import annotations

import re

from .content.injection import strip_controls
from .errors import InputError

# A topic is a title-length line; anything longer is almost always a paste into the wrong box, and would
# become a title hundreds of characters long and a retrieval query nothing matches.
MAX_TOPIC_CHARS = 200
MAX_LINE_FIELD_CHARS = 200  # unit, occasion, audience
MAX_POINTS_CHARS = 5000  # all key points together
_RAW_FACTOR = 2  # raw text may carry this much markup before it is refused unseen

# Markup a writer pastes from a web page or a Markdown note: it is not part of the 公文 text, and left in it
# would reach the Word file as literal ``<b>`` or ``**``. An unclosed script or comment runs to the end
# (and is dropped with it), which also keeps every pattern linear in the text's length.
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_MARK = re.compile(r"\*\*|__|~~|`+|^\s*#{1,6}\s+|^\s*>\s*", re.MULTILINE)


def strip_markup(text: str | None) -> str:
    """``text`` without HTML tags (script/style elements and comments dropped whole), Markdown emphasis,
    heading and quote markers, or link syntax (the link text is kept)."""
    text = _SCRIPT.sub("", text or "")
    text = _COMMENT.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    return _MD_MARK.sub("", text)


def _too_long(label: str, length: int, limit: int) -> InputError:
    hint = "详细内容请写在“要点”中" if label != "要点" else "请只写要点，长篇材料请作为参考材料上传"
    return InputError(f"{label}过长（{length} 字），请控制在 {limit} 字以内；{hint}。")


def check_field(label: str, value: str | None, limit: int) -> str:
    """``value`` with markup and control characters (ANSI escapes, bidi overrides, zero-width, C0/C1)
    stripped and ends trimmed, or an ``InputError`` naming the field (``label``,
    as on the form) and the limit when it is longer than ``limit`` characters."""
    raw = (value or "").strip()
    if len(raw) > limit * _RAW_FACTOR:
        raise _too_long(label, len(raw), limit)
    text = strip_controls(strip_markup(raw)).strip()
    if len(text) > limit:
        raise _too_long(label, len(text), limit)
    return text


def check_points(points: list[str]) -> list[str]:
    """Key points with markup stripped (points left empty dropped), or an ``InputError`` when together
    they exceed ``MAX_POINTS_CHARS``."""
    joined = "\n".join(p.strip() for p in points)
    if len(joined.strip()) > MAX_POINTS_CHARS * _RAW_FACTOR:
        raise _too_long("要点", len(joined.strip()), MAX_POINTS_CHARS)
    cleaned = [strip_controls(strip_markup(p)).strip() for p in points]
    cleaned = [p for p in cleaned if p]
    total = len("\n".join(cleaned))
    if total > MAX_POINTS_CHARS:
        raise _too_long("要点", total, MAX_POINTS_CHARS)
    return cleaned
