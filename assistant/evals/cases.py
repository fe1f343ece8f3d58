"""Eval cases as data (one YAML file each: a drafting request plus what a good draft must use) and the
draft files ``eval --drafts`` scores."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..doctypes import load_doctypes
from ..errors import InputError
from ..records import Draft, DraftRequest

DRAFT_SUFFIXES = (".json", ".md", ".txt", ".docx")


# --------------------------------------------------------------------------------------------------- cases
@dataclass
class EvalCase:
    id: str
    request: DraftRequest
    aliases: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""
    path: str = ""
    must_use: dict[str, list[str]] = field(default_factory=dict)  # per key point: words its part must use
    facts: list[dict[str, str]] = field(default_factory=list)  # expected role/point per material sentence
    known_failing: str = ""  # why the current generator is known to fail this case ("" = must pass)
    sector: str = ""

    @property
    def doc_type(self) -> str:
        return self.request.doc_type


def _as_list(value: Any, what: str, path: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise InputError(f"评测用例 {path} 的 {what} 应为字符串列表。")


def load_case(path: Path, types: dict[str, Any] | None = None) -> EvalCase:
    """One case file: id, type, topic, unit, occasion, audience, speaker, length, points, materials,
    aliases, must_use, facts, known_failing, sector, note."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"评测用例 {path} 无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"评测用例 {path} 应为 YAML 映射（id、type、topic、points …）。")
    for key in ("type", "topic"):
        if not data.get(key):
            raise InputError(f"评测用例 {path} 缺少字段 {key}。")
    doc_type = str(data["type"])
    if types is not None and doc_type not in types:
        raise InputError(f"评测用例 {path} 的文种“{doc_type}”未定义，可选：{'、'.join(types)}。")
    materials = data.get("materials") or []
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise InputError(f"评测用例 {path} 的 aliases 应为“要点: [别称…]”的映射。")
    length = data.get("length")
    must_use = data.get("must_use") or {}
    if not isinstance(must_use, dict):
        raise InputError(f"评测用例 {path} 的 must_use 应为“要点: [词…]”的映射。")
    facts = data.get("facts") or []
    if isinstance(facts, dict):  # {sentence: {role, point}} is accepted too
        facts = [{"text": k, **(v or {})} for k, v in facts.items()]
    if not isinstance(facts, list) or not all(isinstance(f, dict) for f in facts):
        raise InputError(f"评测用例 {path} 的 facts 应为列表（每条含 text、role、point）。")
    year = data.get("year")
    request = DraftRequest(
        doc_type=doc_type,
        topic=str(data["topic"]),
        unit=str(data.get("unit") or ""),
        occasion=str(data.get("occasion") or ""),
        audience=str(data.get("audience") or ""),
        points=_as_list(data.get("points"), "points", path),
        materials=_as_list(materials, "materials", path),
        length=int(length) if length else None,
        speaker=str(data.get("speaker") or ""),
        skeleton=str(data.get("skeleton") or ""),
        year=int(year) if year else None,
    )
    return EvalCase(
        id=str(data.get("id") or Path(path).stem),
        request=request,
        aliases={str(k): _as_list(v, f"aliases.{k}", path) for k, v in aliases.items()},
        note=str(data.get("note") or ""),
        path=str(path),
        must_use={str(k): _as_list(v, f"must_use.{k}", path) for k, v in must_use.items()},
        facts=[{str(k): str(v) for k, v in f.items()} for f in facts],
        known_failing=str(data.get("known_failing") or ""),
        sector=str(data.get("sector") or ""),
    )


def load_cases(folder: Path, prompts_dir: Path | None = None) -> list[EvalCase]:
    folder = Path(folder)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.json")])
    if not files:
        raise InputError(f"在 {folder} 下没有找到评测用例（*.yaml）。请用 --cases 指定用例文件夹。")
    types = load_doctypes(prompts_dir) if prompts_dir else None
    cases = [load_case(f, types) for f in files]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise InputError(f"评测用例 id “{case.id}”重复（{case.path}）。每个用例的 id 须唯一。")
        seen.add(case.id)
    return cases


# -------------------------------------------------------------------------------------------- draft files
def draft_from_dict(data: dict[str, Any]) -> Draft:
    """Rebuild a Draft from ``Draft.to_dict()`` (the ``draft --json`` output or a run's drafts/*.json)."""
    try:
        return Draft.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise InputError(f"草稿 JSON 格式不对（缺少或多出字段：{exc}）。请用 draft --json 的输出。") from exc


def read_draft_file(path: Path) -> tuple[Draft | str, bool]:
    """A draft on disk as (Draft or text, is_markdown). JSON is a Draft; .txt/.docx go through the loader."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"草稿 {path} 不是有效的 JSON：{exc}") from exc
        if isinstance(data, dict) and "draft" in data and isinstance(data["draft"], dict):
            data = data["draft"]
        return draft_from_dict(data), False
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8"), True
    try:
        from ..index.loaders import load_document
    except ImportError:
        if path.suffix == ".docx":
            raise InputError(f"无法读取 {path}：缺少 .docx 读取模块。") from None
        return path.read_text(encoding="utf-8"), False
    # the loader writes a .docx file's style headings as Markdown heading lines: read those as structure
    return load_document(path).text, path.suffix == ".docx"
