"""Print, as Markdown, the full prompts the model path sends for one speech and one 调研报告 — the outline
call, two section calls, the opening call and the revision call of each, system and user — captured from a
real run against the scripted model server (``tests/scripted_model.py``), with the revision pass on.

    .venv/bin/python scripts/llm_prompts.py [--index DIR] > prompts.md   # with an index, exemplars come from it

Before the prompts it lists what each document's prompts were checked to carry (the outline, the text
already written, the register lines, the 提法 list and banned phrases, the number conventions, exemplars
labelled style-only without figures or other units' terms, no request to name borrowed references) and
exits 1 when one is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

# document -> the section calls to show
SHOWN = {"speech": ("取得的成效", "几点意见"), "research-report": ("存在的问题", "对策建议")}
EXEMPLAR_RE = re.compile(r"<<<参考\d+\n(.*?)\n参考\d+>>>", re.S)


def checks(model, request, sections: tuple[str, ...], view) -> list[tuple[str, bool]]:
    """(what the prompts must carry, whether they do) for one captured draft."""
    from assistant.content import lexicon

    outline_user = model.calls("outline")[0][1]
    first, second = (model.calls(name)[0] for name in sections)
    system, user = second
    review = model.calls("review")
    allowed = "\n".join([request.topic, request.unit, request.occasion, request.audience, request.speaker])
    allowed += "\n" + "\n".join([*request.points, *request.materials])
    blocks = [b for _, u in model.prompts for b in EXEMPLAR_RE.findall(u)]
    kind = lexicon.unit_kind(request.unit)
    foreign = [b for b in blocks if view is not None and view.lexicon.foreign_terms(b, allowed, kind)]
    return [
        (
            "outline call lists every part, the writer's points and facts",
            "【结构】" in outline_user
            and all(p in outline_user for p in request.points)
            and "【事实材料】" in outline_user,
        ),
        (
            "section call carries the whole outline, the part marked",
            "【全文提纲】" in user and "← 本次起草这一部分" in user,
        ),
        ("section call carries the text already written", "<<<已写" in user and "<<<已写" in second[1]),
        (
            "register lines (speaker, audience, person, direction, tone)",
            all(
                f"{label}：" in system for label in ("讲话人/行文人", "听众/读者", "人称", "行文方向", "语气")
            ),
        ),
        (
            "提法 list and banned (dated) phrases",
            "应写“习近平新时代中国特色社会主义思想”" in system and "不写“疫情防控”" in system,
        ),
        (
            "heading, number and date conventions (GB/T 15835, 万/亿, 同比)",
            "GB/T 15835" in system
            and "“万”“亿”" in system
            and "同比" in system
            and "层次序数由系统生成" in system,
        ),
        (
            "references labelled style-only",
            bool(blocks) and "【文风参考】（其他单位文稿的片段，只体会语气和句式" in user,
        ),
        ("references carry no figures", not any(re.search(r"\d", b) for b in blocks)),
        ("references carry no other units' terms (corpus lexicon)", view is not None and not foreign),
        (
            "no 'which reference did you borrow' instruction",
            not any(
                w in u for _, u in model.prompts for w in ("借鉴了哪", "参考了哪", "注明来源", "标注出处")
            )
            and not any(re.search(r"\[\d+\]", u) for _, u in model.prompts),
        ),
        ("first section prompt also carries the outline", "【全文提纲】" in first[1]),
        (
            "revision call reviews the whole draft against the checklist",
            len(review) == 1 and "【审读清单】" in review[0][1] and "<<<初稿" in review[0][1],
        ),
    ]


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
    view = None
    if args.index:
        from assistant.index.corpus_view import open_view

        view = open_view(settings)
    out: list[str] = []
    missing = 0
    for request in (SPEECH, RESEARCH):
        sections = SHOWN[request.doc_type]
        model = ScriptedModel()
        with FakeOpenAI() as server:
            server.responder = model
            s = settings.with_overrides(
                llm_base_url=server.base_url, llm_model="scripted", llm_timeout=60, llm_revise=True
            )
            write_draft(request, s, retriever=None if args.index else SeedRetriever())
        out.append(f"\n## {request.doc_type}: {request.topic}（{request.unit}）\n")
        out.append(f"Calls the pipeline made: {len(model.prompts)}.\n")
        for what, ok in checks(model, request, sections, view):
            missing += not ok
            out.append(f"- {'[x]' if ok else '[ ] MISSING:'} {what}")
        for kind in ("outline", *sections, "opening", "review"):
            system, user = model.calls(kind)[0]
            out.append(f"\n### {request.doc_type} — {kind} call\n")
            out.append("system:\n\n```text\n" + system + "\n```\n")
            out.append("user:\n\n```text\n" + user + "\n```")
    print("\n".join(out))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
