"""Print the full prompts the model path sends for one speech and one 调研报告 — the outline call and one
section call each, system and user — against the scripted model server (``tests/scripted_model.py``).

    .venv/bin/python scripts/llm_prompts.py [--index DIR]    # with an index, exemplars come from it
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main(argv: list[str]) -> int:
    from assistant.draft.pipeline import write_draft
    from assistant.settings import load_settings
    from tests.fake_openai import FakeOpenAI
    from tests.llm_deviations import RESEARCH, SPEECH
    from tests.scripted_model import ScriptedModel
    from tests.seed_passages import SeedRetriever

    parser = argparse.ArgumentParser()
    parser.add_argument("--index", help="an index folder (default: the seed passages, no index)")
    args = parser.parse_args(argv)
    settings = load_settings(index_dir=args.index) if args.index else load_settings()
    for request, section in ((SPEECH, "几点意见"), (RESEARCH, "存在的问题")):
        model = ScriptedModel()
        with FakeOpenAI() as server:
            server.responder = model
            s = settings.with_overrides(llm_base_url=server.base_url, llm_model="scripted", llm_timeout=20)
            write_draft(request, s, retriever=None if args.index else SeedRetriever())
        for kind in ("outline", section):
            system, user = model.calls(kind)[0]
            print(f"\n######## {request.doc_type} — {kind} call ########")
            print("=== system ===\n" + system)
            print("=== user ===\n" + user)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
