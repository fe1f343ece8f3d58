"""``python -m assistant draft`` end to end: output forms, materials files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docx import Document as WordDocument

from assistant.cli import main
from assistant.settings import Settings


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_type_lists_the_types(capsys):
    code, out, err = run(capsys, "draft", "--type", "memo", "--topic", "机关党建")
    assert code == 2 and out == ""
    assert err.startswith("错误：未知的文种：memo。可选文种：") and "research-report（调研报告）" in err
    assert "Traceback" not in err


def test_empty_topic(capsys):
    code, _, err = run(capsys, "draft", "--type", "speech", "--topic", "  ")
    assert code == 2 and "请填写主题" in err


def test_missing_or_unreadable_materials(capsys, tmp_path: Path):
    code, _, err = run(
        capsys, "draft", "--type", "speech", "--topic", "党建", "--materials", str(tmp_path / "无.txt")
    )
    assert code == 2 and "找不到材料文件" in err and "无.txt" in err
    bad = tmp_path / "材料.pdf"
    bad.write_bytes(b"%PDF-1.4")
    code, _, err = run(capsys, "draft", "--type", "speech", "--topic", "党建", "--materials", str(bad))
    assert code == 2 and "材料.pdf" in err and "Traceback" not in err


def test_no_index_yet_says_to_ingest(capsys, tmp_path: Path):
    code, out, err = run(
        capsys, "draft", "--type", "speech", "--topic", "党建", "--index", str(tmp_path / "none")
    )
    assert code == 2 and out == "" and "python -m assistant ingest" in err


def test_outline_only_needs_no_index(capsys):
    code, out, _ = run(
        capsys,
        "draft",
        "--type",
        "research-report",
        "--topic",
        "机关党建",
        "--point",
        "加强班子建设",
        "--outline-only",
    )
    assert code == 0
    assert out.splitlines()[:2] == ["关于机关党建的调研报告", "1. 基本情况（background）"]
    assert "   - 加强班子建设" in out
    code, out, _ = run(capsys, "draft", "--type", "speech", "--topic", "机关党建", "--outline-only", "--json")
    assert json.loads(out)["title"] == "在机关党建工作会议上的讲话"


def test_bad_output_suffix(capsys):
    code, _, err = run(capsys, "draft", "--type", "speech", "--topic", "党建", "--out", "x.pdf")
    assert code == 2 and ".docx 或 .md" in err


@pytest.mark.slow
def test_llm_down_falls_back_with_a_warning(capsys, seed_settings: Settings, monkeypatch, tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "m")
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-very-secret")
    code, out, err = run(
        capsys,
        "draft",
        "--type",
        "work-report",
        "--topic",
        "机关党建",
        "--index",
        str(seed_settings.index_dir),
    )
    assert code == 0 and "汇报完毕" in out
    assert "无法连接大模型服务" in err and "离线拼写" in err and "sk-very-secret" not in out + err


@pytest.mark.slow
def test_draft_text_json_markdown_and_docx(capsys, seed_settings: Settings, tmp_path: Path):
    materials = tmp_path / "材料.txt"
    materials.write_bytes("我局共有党员86名，设3个党支部。".encode("gbk"))
    args = [
        "draft",
        "--type",
        "research-report",
        "--topic",
        "机关党支部建设",
        "--unit",
        "市医疗保障局",
        "--point",
        "加强党支部班子建设",
        "--materials",
        str(materials),
        "--index",
        str(seed_settings.index_dir),
    ]
    code, out, err = run(capsys, *args)
    assert code == 0 and out.startswith("关于机关党支部建设的调研报告\n市医疗保障局\n")
    assert "\n参考来源：\n[1] 《" in out and "正在起草：基本情况" in err
    code, out, _ = run(capsys, *args, "--json")
    data = json.loads(out)
    assert data["type"] == "research-report" and data["generator"]["backend"] == "composer"
    assert data["request"]["materials"] == ["我局共有党员86名，设3个党支部。"]
    section = data["sections"][1]
    assert {"heading", "text", "source_ids"} <= set(section) and data["sources"][0][
        "heading_path"
    ] is not None
    code, _, err = run(capsys, *args, "--out", str(tmp_path / "稿.docx"))
    assert code == 0 and "已保存" in err
    doc = WordDocument(str(tmp_path / "稿.docx"))
    assert doc.paragraphs[0].text == "关于机关党支部建设的调研报告"
    code, _, _ = run(capsys, *args, "--out", str(tmp_path / "稿.md"))
    assert (tmp_path / "稿.md").read_text(encoding="utf-8").startswith("# 关于机关党支部建设的调研报告")
