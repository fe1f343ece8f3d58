"""The evals in LLM mode against the scripted model server (``scripts/eval_llm.py``), and ``llm check``."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.settings import PROJECT_ROOT, Settings
from tests.fake_openai import FakeOpenAI
from tests.scripted_model import ScriptedModel

CASES = ("speech-06-yingji-anquan", "duty-01-yibao-zhibu", "work-05-jiedao-guanmo")


def _eval_llm():
    spec = importlib.util.spec_from_file_location("eval_llm", PROJECT_ROOT / "scripts" / "eval_llm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_eval_in_llm_mode_drafts_every_case_with_the_model_and_passes_the_gates(
    capsys, seed_settings: Settings, tmp_path: Path, monkeypatch
):
    cases = tmp_path / "cases"
    cases.mkdir()
    for case in CASES:
        shutil.copy(PROJECT_ROOT / "evals" / "cases" / f"{case}.yaml", cases)
    monkeypatch.setenv("ASSISTANT_EVALS_DIR", str(tmp_path / "evals"))
    code = _eval_llm().main(["--cases", str(cases), "--index", str(seed_settings.index_dir), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    params = json.loads((Path(result["run"]) / "params.json").read_text(encoding="utf-8"))
    assert params["generator_mode"] == "llm" and params["generator"]["backend"] == "openai-compatible"
    for row in result["rows"]:
        failed = [m["label"] for m in row["metrics"].values() if m.get("gate") and m.get("passed") is False]
        assert not failed, (row["case"], failed)
        draft = json.loads(
            (Path(result["run"]) / "drafts" / f"{row['case']}.json").read_text(encoding="utf-8")
        )
        assert not draft["generator"].get("fallback_sections"), (row["case"], draft["warnings"])
        for mark in ("<think", "</think>", "【正文】", "【小标题】", "**", "好的，以下", "仅供参考"):
            assert mark not in draft["text"], (row["case"], mark)


def test_eval_generator_llm_needs_an_endpoint(capsys):
    code = main(["eval", "--generator", "llm"])
    assert code == 2 and "--generator llm 需要大模型服务" in capsys.readouterr().err


def test_llm_check_reports_what_the_model_does(capsys, settings: Settings, monkeypatch):
    with FakeOpenAI() as server:
        model = ScriptedModel(deviate=False)
        model.overrides = {
            "基本情况": ["<think>想一想</think>\n## 基本情况\n**全市共有社区养老服务站126个。**"]
        }
        server.responder = model
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "qwen-test")
        code = main(["llm", "check", "--index", str(settings.index_dir)])
        out = capsys.readouterr().out
        assert code == 0
        assert "模型：qwen-test" in out and "JSON 可用" in out
        assert "思考过程 有" in out and "Markdown 有" in out and "标记 未使用" in out
        assert "结论" not in out and "未使用【正文】等标记" in out
        server.responder = ScriptedModel()
        code = main(["llm", "check", "--json"])
        report = json.loads(capsys.readouterr().out)
    assert report["section"]["markers"] and not report["section"]["problems"] and report["outline"]["json"]


def test_llm_check_without_an_endpoint_says_what_to_set(capsys):
    code = main(["llm", "check"])
    assert code == 2 and "ASSISTANT_LLM_BASE_URL" in capsys.readouterr().err
