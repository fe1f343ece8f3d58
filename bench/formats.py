"""A folder mixing every supported format, and three files that must be refused (issue 14, "must show").

Makes, under ``DIR``:
  corpus/  汇报.txt (a seed), 讲话.md (a seed), 述职.docx (a seed's text with a tracked insertion and deletion,
           a table, a header, a footer, a footnote, a text box and fields), 调研.pdf (a seed through LibreOffice,
           text layer), 汇报二.doc (a seed through LibreOffice), 总结.wps (a detection-set 工作总结 saved as .doc
           and named .wps, as WPS writes it) and 述职报告汇编.txt (a 合集 of three 述职报告)
  bad/     扫描件.pdf (an image only: no text layer), 损坏.doc (an OLE header and nothing else) and 加密.pdf
           (an open password)
No catalog: every type is detected. Then it reads each file as ingest does (``loaders.load_document``,
LibreOffice conversion included) and prints the time, characters and detected type of each.

    .venv/bin/python -m bench.formats DIR
    .venv/bin/python -m assistant ingest DIR/corpus --index DIR/index       # the timings of a real ingest
    cp DIR/bad/* DIR/corpus/ && .venv/bin/python -m assistant ingest DIR/corpus --index DIR/index
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "corpus"
sys.path.insert(0, str(ROOT / "tests"))
from office_files import ENCRYPTED_PDF_FILTER, convert, plain_docx, rich_docx  # noqa: E402


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def make(folder: Path) -> tuple[Path, Path]:
    corpus, bad = folder / "corpus", folder / "bad"
    for sub in (corpus, bad):
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        made = Path(scratch)
        shutil.copy(SEEDS / "000_6bfbaef6554af9b3.txt", corpus / "汇报.txt")
        (corpus / "讲话.md").write_text(
            "\n".join(_lines(SEEDS / "001_6e9dedf2a6c80475.txt")), encoding="utf-8"
        )
        rich_docx(
            corpus / "述职.docx",
            title="医保局机关党支部书记2023年抓基层党建工作述职报告",
            lines=_lines(SEEDS / "002_fbcf8ade7eff2f0f.txt"),
        )
        research = plain_docx(
            made / "调研.docx",
            _lines(SEEDS / "004_98979e0a19b40566.txt"),
            title="关于在人社工作中充分发挥党支部战斗堡垒作用的调研报告",
        )
        shutil.copy(convert(research, ".pdf", made), corpus / "调研.pdf")
        work = plain_docx(made / "汇报二.docx", _lines(SEEDS / "003_93c6ebaee80d2d0d.txt"))
        shutil.copy(convert(work, ".doc", made), corpus / "汇报二.doc")
        summary = plain_docx(made / "总结.docx", _lines(ROOT / "tests/data/detection/doc082.txt"))
        shutil.copy(convert(summary, ".doc", made), corpus / "总结.wps")
        shutil.copy(ROOT / "tests/data/collections/述职报告汇编.txt", corpus / "述职报告汇编.txt")

        from PIL import Image

        Image.new("RGB", (620, 877), "white").save(bad / "扫描件.pdf")
        (bad / "损坏.doc").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
        secret = plain_docx(made / "加密.docx", _lines(SEEDS / "002_fbcf8ade7eff2f0f.txt"))
        shutil.copy(convert(secret, ".pdf", made / "enc", ENCRYPTED_PDF_FILTER), bad / "加密.pdf")
    return corpus, bad


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a CJK character takes two)."""
    return text + " " * max(0, width - sum(2 if ord(c) > 0x2E80 else 1 for c in text))


def read_all(folder: Path) -> list[str]:
    from assistant.errors import UserError
    from assistant.index import loaders, structure

    rows = [f"{'file':16}{'read s':>8}{'chars':>8}  type (confidence) or error"]
    for path in sorted(folder.iterdir()):
        started = time.perf_counter()
        try:
            document = loaders.load_document(path)
        except UserError as exc:
            rows.append(f"{_pad(path.name, 16)}{time.perf_counter() - started:8.2f}{'':>8}  {exc}")
            continue
        seconds = time.perf_counter() - started
        doc_type, confidence = structure.detect_type(document.text)
        rows.append(
            f"{_pad(path.name, 16)}{seconds:8.2f}{len(document.text):8d}  {doc_type} ({confidence:.2f})"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus, bad = make(args.folder)
    print(f"made {corpus} and {bad} in {time.perf_counter() - started:.1f} s")
    for folder in (corpus, bad):
        print("\n".join(read_all(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
