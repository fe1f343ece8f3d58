"""Prompt files: YAML front matter (name, version, variables) and a Jinja2 body rendered with StrictUndefined.

Both generators keep their wording in files under ``prompts/``: the LLM's system and section prompts in
``prompts/llm/``, the composer's formulas (opening, closing, section lead-ins, placeholders) next to each
type's ``schema.yaml``. Keeping text out of code means a writer can edit a formula and the eval suite catches
a bad edit; the price is that a typo in a variable name only fails at render time, which is why rendering is
strict and a test compares each file's declared variables with the ones its body really uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

from .errors import InputError

PROMPT_SUFFIX = ".md"

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    variables: tuple[str, ...]
    body: str
    path: str
    sha: str  # sha256 of the whole file, first 12 hex digits

    def ref(self) -> dict[str, Any]:
        """Name, version and hash, as recorded in ``Draft.generator``."""
        return {"name": self.name, "version": self.version, "sha": self.sha}


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"提示词文件 {path} 有误：{what}。请按“--- 前言 --- 正文”的格式修改。")


def parse_prompt(text: str, path: Path) -> Prompt:
    """Split ``text`` into front matter and body and check the front matter's shape."""
    if not text.startswith("---"):
        raise _bad(path, "缺少以 --- 开头的前言")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise _bad(path, "前言没有以 --- 结束")
    head, body = parts[0][3:], parts[1]
    body = body[1:] if body.startswith("\n") else body.lstrip("-\n")
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise _bad(path, f"前言不是有效的 YAML：{exc}") from exc
    if not isinstance(meta, dict) or "name" not in meta:
        raise _bad(path, "前言缺少 name")
    variables = meta.get("variables") or []
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise _bad(path, "variables 应为字符串列表")
    try:
        _ENV.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        raise _bad(path, f"第 {exc.lineno} 行模板语法错误：{exc.message}") from exc
    return Prompt(
        name=str(meta["name"]),
        version=int(meta.get("version", 1)),
        variables=tuple(variables),
        body=body.rstrip("\n"),
        path=str(path),
        sha=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
    )


@lru_cache(maxsize=128)
def _load_cached(path: str, stamp: int) -> Prompt:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(file, f"无法读取（{exc}）") from exc
    return parse_prompt(text, file)


def load_prompt(path: Path) -> Prompt:
    """Load one prompt file (cached until the file changes)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"找不到提示词文件 {path}。")
    return _load_cached(str(path), path.stat().st_mtime_ns)


def find_prompt(prompts_dir: Path, name: str, doc_type: str | None = None) -> Path | None:
    """The file for ``name``: the type's own ``types/<doc_type>/<name>.md`` first, then ``composer/<name>.md``
    (shared defaults, so a new type works before it has its own formulas), then ``llm/<name>.md``."""
    root = Path(prompts_dir)
    candidates = []
    if doc_type:
        candidates.append(root / "types" / doc_type / f"{name}{PROMPT_SUFFIX}")
    candidates += [root / "composer" / f"{name}{PROMPT_SUFFIX}", root / "llm" / f"{name}{PROMPT_SUFFIX}"]
    return next((p for p in candidates if p.is_file()), None)


def get_prompt(prompts_dir: Path, name: str, doc_type: str | None = None) -> Prompt:
    path = find_prompt(prompts_dir, name, doc_type)
    if path is None:
        where = f"prompts/types/{doc_type}/ 或 " if doc_type else ""
        raise InputError(
            f"找不到提示词“{name}”（应在 {where}prompts/composer/ 或 prompts/llm/ 下的 {name}.md）。"
        )
    return load_prompt(path)


def used_variables(prompt: Prompt) -> set[str]:
    """The variables the body really reads (Jinja2's undeclared names)."""
    return set(jinja2.meta.find_undeclared_variables(_ENV.parse(prompt.body)))


def _mend_seams(text: str) -> str:
    """Join seams a template makes with a writer's words: "做好{{ topic }}工作" with a topic that already
    ends in 工作 would read "抓基层党建工作工作"."""
    return _DOUBLED.sub(r"\1", text)


_DOUBLED = re.compile(r"(工作|建设|会议)\1+")


def render(prompt: Prompt, **values: Any) -> str:
    """Render with exactly the declared variables; a missing or unexpected one is an error naming the file."""
    missing = [v for v in prompt.variables if v not in values]
    if missing:
        raise _bad(Path(prompt.path), f"渲染时缺少变量 {', '.join(missing)}")
    try:
        template = _ENV.from_string(prompt.body)
        return _mend_seams(template.render(**{k: values[k] for k in prompt.variables}).strip())
    except jinja2.UndefinedError as exc:
        raise _bad(Path(prompt.path), f"正文使用了未声明的变量（{exc.message}）") from exc
    except jinja2.TemplateError as exc:
        raise _bad(Path(prompt.path), f"渲染失败：{exc}") from exc


def render_string(pattern: str, **values: Any) -> str:
    """Render a one-line pattern from a schema (e.g. its ``title``) strictly."""
    try:
        return _mend_seams(_ENV.from_string(pattern).render(**values).strip())
    except jinja2.TemplateError as exc:
        raise InputError(f"模板“{pattern}”渲染失败：{exc}") from exc


def all_prompt_files(prompts_dir: Path) -> list[Path]:
    """Every prompt file under ``prompts_dir`` (the ``.md`` files with front matter)."""
    return sorted(Path(prompts_dir).rglob(f"*{PROMPT_SUFFIX}"))


def load_lines(path: Path) -> list[str]:
    """A plain data list (one entry a line, ``#`` comments), e.g. the fixed political numerals."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"无法读取数据文件 {path}：{exc}") from exc
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
