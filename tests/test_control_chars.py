"""Control characters (a NUL, a bell, ANSI colour codes, bidi overrides, zero-width spaces) in a topic, a
corpus title or a corpus text never break an export and never reach a terminal raw: they are stripped from
request fields and at load, and defensively again by the exports and the CLI's printing (an index built
before the stripping may still hold them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import pytest

from assistant.cli import main
from assistant.draft import export
from assistant.draft import pipeline as drafting
from assistant.index.ingest import MANIFEST, ingest
from assistant.records import Draft, DraftParagraph, DraftRequest, DraftSection, Source
from assistant.settings import Settings

pytestmark = pytest.mark.usefixtures("hashing_env")

DIRTY = "\x00\x07\x08\x0b\x1b[31m\u202e\u200b\x7f\x9b"
TOPIC = f"2024年度{DIRTY}抓基层党建工作"
ANSI_TITLE = "\x1b[1;31m红色标题的调研报告\x1b[0m\x07"


def _clean(text: str) -> bool:
    controls = "\x00\x07\x08\x0b\x1b\u202e\u200b\x7f\x9b"
    return not any(c in text for c in controls) and "[31m" not in text and "[0m" not in text


@pytest.fixture
def hs(_hash_index: Path, tmp_path: Path) -> Settings:
    index = tmp_path / "index"
    shutil.copytree(_hash_index, index)
    return Settings(index_dir=index, embedder="hashing")


def test_a_control_character_in_the_cli_topic_does_not_break_the_docx(hs: Settings, tmp_path: Path, capsys):
    out = tmp_path / "草稿.docx"
    code = main(
        ["draft", "--type", "duty-report", "--topic", TOPIC, "--point", f"理论{DIRTY}学习"]
        + ["--index", str(hs.index_dir), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    title = docx.Document(str(out)).paragraphs[0].text
    assert "2024年度抓基层党建工作" in title and _clean(title)


def test_a_control_character_in_the_web_topic_does_not_break_the_downloads(hs: Settings, tmp_path: Path):
    from assistant.ui.views import build_request
    from assistant.ui.workbench import export_files

    request = build_request("duty-report", TOPIC, f"市医保局{DIRTY}机关党支部", "", f"理论学习\n{DIRTY}")
    assert request.topic == "2024年度抓基层党建工作" and request.unit == "市医保局机关党支部"
    assert request.points == ["理论学习"]
    draft = drafting.write_draft(request, hs)
    docx_path, md_path = export_files(draft)
    assert "2024年度抓基层党建工作" in docx.Document(docx_path).paragraphs[0].text
    assert _clean(Path(md_path).read_text(encoding="utf-8"))


def test_a_corpus_title_with_control_characters_neither_breaks_exports_nor_prints_raw(
    corpus_copy: Path, tmp_path: Path, capsys
) -> None:
    # a title guessed from the text (two escapes: still text, not binary, to the loader) and one from the
    # catalog
    (corpus_copy / "彩色标题.txt").write_text(
        "\x1b[1;31m红色标题的调研报告\x1b[0m\n一、基本情况\n严格落实三会一课制度，推进支部标准化规范化建设。\n",
        encoding="utf-8",
    )
    (corpus_copy / "目录标题.txt").write_text(
        "一、基本情况\n严格落实三会一课制度，坚持每月开展主题党日活动。\n", encoding="utf-8"
    )
    catalog = corpus_copy / "catalog.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8")
        + '\n目录标题.txt:\n  type: research-report\n  title: "\\e[1;31m目录\\a标题\\0的调研报告\\e[0m"\n',
        encoding="utf-8",
    )
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus_copy], settings)
    for argv in (
        ["corpus", "list"],
        ["search", "严格落实三会一课制度", "-k", "3"],
        ["search", "三会一课", "--json"],
    ):
        assert main([*argv, "--index", str(settings.index_dir)]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\x00" not in out, out
        assert "红色标题的调研报告" in out or "目录标题的调研报告" in out, out
    request = DraftRequest("research-report", "支部标准化规范化建设", points=["严格落实三会一课制度"])
    draft = drafting.write_draft(request, settings)
    titles = [s.title for s in draft.sources]
    assert {"红色标题的调研报告", "目录标题的调研报告"} & set(titles), titles
    word = docx.Document(str(export.save(draft, tmp_path / "引用.docx")))
    assert _clean("\n".join(p.text for p in word.paragraphs))


def test_exports_strip_what_an_older_index_still_holds(tmp_path: Path) -> None:
    """A draft whose sources (and even text) carry control characters, as drafts from an index built
    before the stripping can: both exports succeed and hold none of them."""
    body = DraftParagraph(f"严格落实三会一课制度{DIRTY}。", "body", 0, [1])
    draft = Draft(
        doc_type="research-report",
        title=f"关于{DIRTY}支部建设的调研报告",
        sections=[DraftSection("background", "background", "一、基本情况", "", [], 1, [body])],
        text="",
        sources=[Source(1, "c1", "d1", ANSI_TITLE, "一、基本情况\x00", "background")],
        request=DraftRequest("research-report", "支部建设"),
    )
    drafting.assemble(draft)
    word = docx.Document(str(export.save(draft, tmp_path / "a.docx", sources_appendix=True)))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "红色标题的调研报告" in text and _clean(text)
    markdown = export.save(draft, tmp_path / "a.md").read_text(encoding="utf-8")
    assert "红色标题的调研报告" in markdown and _clean(markdown)
    assert _clean(export.save(draft, tmp_path / "a.txt").read_text(encoding="utf-8"))


def test_a_manifest_title_with_ansi_prints_clean(hs: Settings, capsys) -> None:
    import json

    path = Path(hs.index_dir) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    first = next(iter(data["documents"].values()))
    first["title"] = ANSI_TITLE
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert main(["corpus", "list", "--index", str(hs.index_dir)]) == 0
    out = capsys.readouterr().out
    assert "红色标题的调研报告" in out and "\x1b" not in out and "\x07" not in out
