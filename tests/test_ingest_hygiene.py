"""Sentences that carry an ingest warning never reach a draft (issue 14, "corpus hygiene").

One corpus document is ingested twice, in two indexes beside the seeds: once as a writer would want it, and
once with a redaction mark (××), a known typo (重业务轻的思想), a scraping gap (，，), a wrong 提法 and a
placeholder (某某) in five of its sentences. Ingest names each marked sentence's mark in ``corpus list
--json``; the offline composer writing on the document's own topic uses the clean sentences and none of the
marked ones, although retrieval hands it the marked passages; and the style text the model path shows a
model keeps the clean sentences and drops the marked ones."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.cli import main
from assistant.draft import llm_brief
from assistant.draft.pipeline import write_draft
from assistant.index.corpus_view import open_view
from assistant.index.ingest import ingest
from assistant.records import DraftRequest
from assistant.settings import PROJECT_ROOT, Settings, load_settings

# (as a careless export has it, as the writer meant it)
PAIRS = [
    (
        "要把机关党建工作纳入××考核体系，与业务工作同谋划、同部署、同考核。",
        "要把机关党建工作纳入年度考核体系，与业务工作同谋划、同部署、同考核。",
    ),
    (
        "要坚决纠正重业务轻的思想，推动党建和业务深度融合、相互促进。",
        "要坚决纠正重业务轻党建的思想，推动党建和业务深度融合、相互促进。",
    ),
    (
        "要严格落实“三会一课”制度，，切实增强党内组织生活的政治性、时代性、原则性、战斗性。",
        "要严格落实“三会一课”制度，切实增强党内组织生活的政治性、时代性、原则性、战斗性。",
    ),
    (
        "要坚持以习近平中国特色社会主义思想为指导，推动管党治党责任层层落实。",
        "要坚持以习近平新时代中国特色社会主义思想为指导，推动管党治党责任层层落实。",
    ),
    (
        "要督促某某支部书记履行第一责任人职责，把管党治党责任扛在肩上。",
        "要督促各支部书记履行第一责任人职责，把管党治党责任扛在肩上。",
    ),
]
MARKS = ["××", "重业务轻的思想", "，，", "习近平中国特色社会主义思想", "某某"]
REQUEST = DraftRequest(
    "speech",
    "机关党建工作",
    unit="县直机关工委",
    occasion="全县机关党建工作推进会",
    points=["压实管党治党责任", "严格党内组织生活", "推动党建和业务融合"],
)


def speech(version: int) -> str:
    s = [pair[version] for pair in PAIRS]
    return "\n".join(
        [
            "在全县机关党建工作推进会上的讲话",
            "同志们：",
            "今天召开全县机关党建工作推进会，主要任务是总结工作，部署任务。",
            "一、压实管党治党责任",
            s[3],
            s[4],
            "二、严格党内组织生活",
            s[2],
            "三、推动党建和业务融合",
            s[0],
            s[1],
            "同志们，让我们奋发有为，推动机关党建工作再上新台阶！",
        ]
    )


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """``clean`` and ``marked``: the seeds and the speech (as meant / as exported), hashing embedder."""
    out = {}
    for version, name in ((1, "clean"), (0, "marked")):
        root = tmp_path_factory.mktemp(name)
        corpus = root / "corpus"
        corpus.mkdir()
        for seed in (PROJECT_ROOT / "corpus").glob("0*.txt"):
            shutil.copy(seed, corpus / seed.name)  # no catalog: every type is detected
        (corpus / "讲话.txt").write_text(speech(version), encoding="utf-8")
        settings = load_settings(index_dir=root / "index", embedder="hashing", corpus_dir=corpus)
        assert ingest([corpus], settings).errors == []
        out[name] = settings
    return out


def test_ingest_names_each_marked_sentence_in_corpus_list_json(
    indexes: dict[str, Settings], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    found = {}
    for name, settings in indexes.items():
        capsys.readouterr()
        assert main(["corpus", "list", "--json", "--index", str(settings.index_dir)]) == 0
        rows = {d["doc_id"]: d for d in json.loads(capsys.readouterr().out)}
        found[name] = rows["讲话"]["warnings"]
    assert found["clean"] == []
    for mark, (marked, _) in zip(MARKS, PAIRS, strict=True):
        places = [  # the warning's context, cut at line ends, lies in the marked sentence
            piece
            for w in found["marked"]
            if mark in w["text"] or w["text"] in mark
            for piece in w["context"].split(" ")
            if w["text"] in piece
        ]
        assert any(piece in marked for piece in places), (mark, found["marked"])


def test_the_offline_composer_uses_the_clean_sentences_and_none_of_the_marked(
    indexes: dict[str, Settings],
) -> None:
    clean = write_draft(REQUEST, indexes["clean"])
    used = [meant for _, meant in PAIRS if meant in clean.text]
    assert len(used) >= 3, clean.text  # the document is on the draft's topic: its sentences are wanted

    marked = write_draft(REQUEST, indexes["marked"])
    offered = "\n".join(  # the passages the composer drew from for each point, shown beside the draft
        str(p.get("text", "")) for shown in marked.suggestions.values() for p in shown
    )
    assert sum(bad in offered for bad, _ in PAIRS) >= 3, offered
    for bad, _ in PAIRS:
        assert bad not in marked.text, bad
    for mark in MARKS:
        assert mark not in marked.text, mark


def test_the_model_path_never_shows_a_marked_sentence_as_style_text(indexes: dict[str, Settings]) -> None:
    fixed: tuple[str, ...] = ()
    shown = {}
    for name, settings in indexes.items():
        view = open_view(settings)
        shown[name] = llm_brief.clean_exemplar(view.texts["讲话"], REQUEST, view, fixed)
    assert sum(meant in shown["clean"] for _, meant in PAIRS) >= 4, shown["clean"]
    for bad, _ in PAIRS:
        assert bad not in shown["marked"], bad
