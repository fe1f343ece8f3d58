"""Run the evals in LLM mode against the scripted model server (no real model is reachable here).

    .venv/bin/python scripts/eval_llm.py [eval flags…]     # e.g. --compare, --cases DIR, --json

Starts ``tests/fake_openai.FakeOpenAI`` with ``tests/scripted_model.ScriptedModel(deviate=True)`` — replies
built from each prompt and wrapped the way real models wrap them (reasoning blocks, Markdown, commentary,
fenced JSON) — points ``ASSISTANT_LLM_BASE_URL`` at it and runs ``assistant eval --generator llm``. Prints
how many calls the pipeline made and the exit code of the eval.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main(argv: list[str]) -> int:
    from fake_openai import FakeOpenAI
    from scripted_model import ScriptedModel

    from assistant.cli import main as cli

    model = ScriptedModel(deviate=True)
    saved = {
        k: os.environ.get(k)
        for k in ("ASSISTANT_LLM_BASE_URL", "ASSISTANT_LLM_MODEL", "ASSISTANT_LLM_TIMEOUT")
    }
    try:
        with FakeOpenAI() as server:
            server.responder = model
            os.environ["ASSISTANT_LLM_BASE_URL"] = server.base_url
            os.environ["ASSISTANT_LLM_MODEL"] = "scripted-model"
            os.environ["ASSISTANT_LLM_TIMEOUT"] = saved["ASSISTANT_LLM_TIMEOUT"] or "20"
            code = cli(["eval", "--generator", "llm", *argv])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    print(f"脚本化模型收到 {len(model.prompts)} 次调用；评测退出码 {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
