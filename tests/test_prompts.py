"""Prompt files: front matter shape, strict rendering, declared variables == used variables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.prompts import all_prompt_files, get_prompt, load_prompt, parse_prompt, render, used_variables
from assistant.settings import PROJECT_ROOT

PROMPTS = PROJECT_ROOT / "prompts"
FILES = all_prompt_files(PROMPTS)


def test_there_are_prompt_files_for_both_generators_and_every_type():
    names = {p.relative_to(PROMPTS).as_posix() for p in FILES}
    assert {"llm/system.md", "llm/section.md"} <= names
    for folder in sorted((PROMPTS / "types").iterdir()):
        for part in ("opening", "lead", "missing", "closing"):
            assert f"types/{folder.name}/{part}.md" in names or f"composer/{part}.md" in names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PROMPTS).as_posix())
def test_declared_variables_are_exactly_the_used_ones(path: Path):
    prompt = load_prompt(path)
    assert prompt.name and prompt.version >= 1 and len(prompt.sha) == 12
    assert set(prompt.variables) == used_variables(prompt), path


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PROMPTS).as_posix())
def test_every_prompt_renders_with_plain_values(path: Path):
    prompt = load_prompt(path)
    values = {v: ([] if v in ("points", "materials", "references") else "测试") for v in prompt.variables}
    values.update({k: 1 for k in ("target_chars",) if k in values})
    text = render(prompt, **values)
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("doc_type", ["speech", "research-report"])
def test_a_topic_ending_in_gongzuo_does_not_read_gongzuo_gongzuo(doc_type: str):
    from assistant.draft.request import template_values
    from assistant.records import DraftRequest

    prompt = get_prompt(PROMPTS, "closing", doc_type)
    values = template_values(DraftRequest(doc_type, "抓基层党建工作"))
    text = render(prompt, **values)
    assert "抓基层党建工作" in text and "工作工作" not in text


def test_render_refuses_a_missing_variable():
    prompt = get_prompt(PROMPTS, "opening", "research-report")
    with pytest.raises(InputError, match="缺少变量"):
        render(prompt, topic="主题")


def test_a_body_using_an_undeclared_variable_fails_loudly(tmp_path: Path):
    prompt = parse_prompt("---\nname: x\nvariables: [a]\n---\n{{ a }}{{ b }}\n", tmp_path / "x.md")
    assert used_variables(prompt) == {"a", "b"}
    with pytest.raises(InputError, match="未声明"):
        render(prompt, a="1")


@pytest.mark.parametrize(
    "text, why",
    [
        ("no front matter", "前言"),
        ("---\nname: [\n---\nbody", "YAML"),
        ("---\nversion: 1\n---\nx", "name"),
        ("---\nname: x\n---\n{% if %}", "语法"),
    ],
)
def test_malformed_prompt_files_are_reported_in_chinese(tmp_path: Path, text: str, why: str):
    with pytest.raises(InputError, match=why):
        parse_prompt(text, tmp_path / "bad.md")


def test_the_hash_changes_when_the_file_changes(tmp_path: Path):
    path = tmp_path / "p.md"
    path.write_text("---\nname: p\n---\n甲\n", encoding="utf-8")
    first = load_prompt(path).sha
    path.write_text("---\nname: p\n---\n乙\n", encoding="utf-8")
    import os

    os.utime(path, ns=(1, 10**18))
    assert load_prompt(path).sha != first


def test_type_prompts_fall_back_to_shared_defaults(tmp_path: Path):
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS, root)
    (root / "types" / "notice").mkdir()
    assert get_prompt(root, "opening", "notice").path.endswith("composer/opening.md")
    assert get_prompt(root, "opening", "speech").path.endswith("types/speech/opening.md")


def test_fixed_numerals_list_names_the_political_terms():
    terms = (PROMPTS / "fixed_numerals.txt").read_text(encoding="utf-8")
    for term in (
        "两个确立",
        "两个维护",
        "四个意识",
        "四个自信",
        "三会一课",
        "一岗双责",
        "四风",
        "八项规定",
        "三重一大",
        "第一责任人",
    ):
        assert term in terms
