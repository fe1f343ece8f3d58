"""Print the scripted-deviation table: each way a model deviates, what the model sent, what the draft looks
like after the pipeline, pass/fail (the same cases ``tests/test_llm_deviations.py`` asserts).

    .venv/bin/python scripts/llm_deviations.py > deviations.md
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def sent(replies: dict) -> str:
    """The start of the deviating reply, as one line (the outline's own reply when only it deviates)."""
    key = next((k for k in replies if k != "outline"), "outline")
    reply = replies[key][0]
    cut = isinstance(reply, tuple)
    text = reply[1] if cut else reply
    text = text.replace("\n", "⏎").replace("|", "｜")
    return (
        f"{key}: " + ("(stream cut half-way) " if cut else "") + (text[:70] + "…" if len(text) > 70 else text)
    )


def main() -> int:
    from assistant.settings import load_settings
    from tests.llm_deviations import DEVIATIONS
    from tests.test_llm_deviations import run_deviation

    settings = load_settings(index_dir=Path(tempfile.mkdtemp()) / "index")
    print("| deviation | the model sent | the draft after the pipeline | result |")
    print("|---|---|---|---|")
    failed = 0
    for deviation in DEVIATIONS:
        draft, model = run_deviation(deviation, settings)
        try:
            excerpt, result = deviation.check(draft, model), "pass"
        except AssertionError as exc:
            excerpt, result, failed = f"{exc}", "FAIL", failed + 1
        shown = excerpt.replace("|", "｜").replace("\n", "⏎")
        print(f"| {deviation.name} | {sent(deviation.replies)} | {shown} | {result} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
