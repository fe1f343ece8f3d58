"""What the pipeline makes of each way a real model deviates (the table in ``tests/llm_deviations.py``):
a draft over real HTTP from the scripted model server, one section's replies scripted to deviate."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.draft.pipeline import write_draft
from assistant.settings import Settings
from tests.fake_openai import FakeOpenAI
from tests.llm_deviations import DEVIATIONS, Deviation
from tests.scripted_model import ScriptedModel
from tests.seed_passages import SeedRetriever


def run_deviation(deviation: Deviation, settings: Settings):
    model = ScriptedModel(overrides={k: list(v) for k, v in deviation.replies.items()})
    request = replace(deviation.request, bodies=list(deviation.bodies))
    with FakeOpenAI() as server:
        server.responder = model
        s = settings.with_overrides(llm_base_url=server.base_url, llm_model="scripted", llm_timeout=5)
        draft = write_draft(request, s, retriever=SeedRetriever())
    return draft, model


@pytest.mark.parametrize("deviation", DEVIATIONS, ids=lambda d: d.name[:40])
def test_each_deviation_becomes_a_clean_draft(deviation: Deviation, settings: Settings):
    draft, model = run_deviation(deviation, settings)
    excerpt = deviation.check(draft, model)
    assert excerpt
