"""Hostile corpus files: time and peak memory of ingesting each (issue 16, finding 2), and the time of each
ingest stage on text without punctuation as it grows (the steps must stay linear).

Files (made here; ``tests/test_ingest_limits.py`` makes the same ones and asserts the outcome):
  paragraphs-1e6.docx   a .docx whose body holds 1,000,000 paragraphs        → refused (paragraph limit)
  media-200mb.docx      a .docx with a 200 MB image part (zeros, compressed)  → ingested, the image never read
  media-1gb.docx        the same with a 1 GB image part (1 MB on disk)        → ingested, the image never read
  bomb-xml.docx         a .docx whose document.xml inflates to 64 MB         → refused (size limit)
  nopunct-5mb.txt       5 MB of Chinese text without punctuation             → refused (characters per file)
  repeat-5mb.txt        5 MB of one repeated character                       → refused (characters per file)
  nopunct-150k.txt      150,000 characters without punctuation               → ingested
  repeat-150k.txt       150,000 times one character                           → ingested

Each ingest runs in a fresh child process (hashing embedder, an empty index), which reports its own peak
resident memory (``VmHWM``; ``os.wait4``'s figure includes the parent's size at the fork). ``--isolate`` runs the same ingests with ``isolate=True`` (a worker process per file, as web
uploads do). The stage table times parse, chunking, BM25 tokens, hygiene warnings and type detection
directly on 80k/160k/320k characters.

Run: ``.venv/bin/python -m bench.hostile`` (``--help``).
"""

from __future__ import annotations

import argparse
import random
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import bench_main, machine, machine_line, run_child, table

SEED = Path(__file__).resolve().parents[1] / "corpus" / "002_fbcf8ade7eff2f0f.txt"
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" '
    'ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _chinese(n: int, seed: int = 1) -> str:
    """``n`` characters drawn from the seed's Chinese characters (no punctuation)."""
    pool = [c for c in SEED.read_text(encoding="utf-8") if "\u4e00" <= c <= "\u9fff"]
    rng = random.Random(seed)
    return "".join(rng.choice(pool) for _ in range(n))


def _docx(path: Path, body: str, extra: dict[str, int] | None = None) -> Path:
    """A minimal valid .docx with ``body`` as its document body XML; ``extra`` adds parts of n zero bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr(
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W}><w:body>{body}</w:body></w:document>',
        )
        for name, size in (extra or {}).items():
            with z.open(name, "w", force_zip64=True) as fh:
                block = bytes(1 << 20)
                for _ in range(size >> 20):
                    fh.write(block)
    return path


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def make(name: str, folder: Path) -> Path:
    """Write the hostile file ``name`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    seed_body = "".join(
        _paragraph(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if name == "paragraphs-1e6.docx":
        return _docx(
            path,
            _paragraph("关于加强机关党建工作的调研报告") + "<w:p/>" * 500_000 + _paragraph("字") * 500_000,
        )
    if name in ("media-200mb.docx", "media-1gb.docx"):
        size = (200 << 20) if name == "media-200mb.docx" else (1 << 30)
        return _docx(path, seed_body, {"word/media/image1.png": size})
    if name == "bomb-xml.docx":
        return _docx(path, seed_body + " " * (64 << 20))
    if name in ("nopunct-5mb.txt", "nopunct-150k.txt"):
        n = 5 * 1024 * 1024 // 3 if name.startswith("nopunct-5") else 150_000
        path.write_text(_chinese(n), encoding="utf-8")
        return path
    if name in ("repeat-5mb.txt", "repeat-150k.txt"):
        n = 5 * 1024 * 1024 // 3 if name.startswith("repeat-5") else 150_000
        path.write_text("党" * n, encoding="utf-8")
        return path
    raise ValueError(name)


FILES = [
    "paragraphs-1e6.docx",
    "media-200mb.docx",
    "media-1gb.docx",
    "bomb-xml.docx",
    "nopunct-5mb.txt",
    "repeat-5mb.txt",
    "nopunct-150k.txt",
    "repeat-150k.txt",
]


# ---- child phases -----------------------------------------------------------------------------------------


def _vm_hwm_mb() -> float:
    """This process's own peak resident memory (``VmHWM``: reset at exec, unlike ``ru_maxrss``, which
    Linux carries over from the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(params: dict[str, Any]) -> dict[str, Any]:
    import resource

    result = _measure(params)
    result["peak_rss_mb"] = round(_vm_hwm_mb())
    # a worker process (isolate=True) is a child of this one: its peak as rusage reports it
    result["worker_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def _measure(params: dict[str, Any]) -> dict[str, Any]:
    if params["phase"] == "ingest":
        from assistant.index.ingest import ingest
        from assistant.settings import Settings

        settings = Settings(index_dir=Path(params["index"]), embedder="hashing")
        started = time.perf_counter()
        report = ingest([Path(params["file"])], settings, isolate=params["isolate"])
        return {
            "seconds": round(time.perf_counter() - started, 2),
            "added": len(report.added),
            "chunks": report.chunks_written,
            "error": report.errors[0] if report.errors else "",
        }
    return _stages(params)


def _stages(params: dict[str, Any]) -> dict[str, Any]:
    from assistant.content import hygiene
    from assistant.index import chunking, keyword, structure
    from assistant.records import Document

    n, kind = params["chars"], params["kind"]
    text = _chinese(n) if kind == "nopunct" else "党" * n
    out: dict[str, Any] = {"kind": kind, "chars": n}
    started = time.perf_counter()
    parsed = structure.parse(Document(doc_id="x", title="x", text=text, doc_type="speech"))
    out["parse_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    chunks = chunking.chunk_document(parsed)
    out["chunk_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    for chunk in chunks:
        keyword.tokenize(chunk.text)
    out["bm25_tokens_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    hygiene.document_warnings(text)
    out["hygiene_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    structure.detect_type(text)
    out["detect_s"] = round(time.perf_counter() - started, 2)
    from assistant.content import lexicon

    started = time.perf_counter()
    lexicon.document_terms("x", text)
    out["terms_s"] = round(time.perf_counter() - started, 2)
    out["chunks"] = len(chunks)
    return out


# ---- parent -----------------------------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--isolate", action="store_true", help="ingest with isolate=True (a worker per file)")
    parser.add_argument("--sizes", default="80000,160000,320000", help="characters for the stage table")
    parser.add_argument("--work-dir", type=Path, help="keep the scratch files here")
    parser.add_argument("--out-dir", type=Path, help="where to write the JSON (default bench/results)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import json

    rows = []
    for name in FILES:
        started = time.perf_counter()
        path = make(name, work / "files")
        made = time.perf_counter() - started
        params = {
            "phase": "ingest",
            "file": str(path),
            "index": str(work / f"index-{name}"),
            "isolate": args.isolate,
        }
        result, _ = run_child("bench.hostile", ["--child", json.dumps(params)])
        rows.append(
            {
                "file": name,
                "size_mb": round(path.stat().st_size / 1024 / 1024, 1),
                "made_s": round(made, 1),
                "seconds": result["seconds"],
                "peak_rss_mb": result["peak_rss_mb"],
                "worker_rss_mb": result["worker_rss_mb"] if args.isolate else None,
                "outcome": f"added {result['added']} ({result['chunks']} chunks)"
                if result["added"]
                else "refused",
                "message": result["error"],
            }
        )
        path.unlink()
    stages = []
    for kind in ("nopunct", "repeat"):
        for n in (int(x) for x in args.sizes.split(",")):
            result, _ = run_child(
                "bench.hostile", ["--child", json.dumps({"phase": "stages", "kind": kind, "chars": n})]
            )
            stages.append(result)
    return {"machine": machine(), "isolate": args.isolate, "files": rows, "stages": stages}


def _report(result: dict[str, Any]) -> str:
    lines = [machine_line(result["machine"]), ""]
    lines.append(
        table(
            result["files"],
            ["file", "size_mb", "seconds", "peak_rss_mb", "worker_rss_mb", "outcome"],
            f"Hostile files, one ingest each (isolate={result['isolate']})",
        )
    )
    for row in result["files"]:
        if row["message"]:
            lines.append(f"  {row['file']}: {row['message']}")
    lines.append("")
    lines.append(
        table(
            result["stages"],
            [
                "kind",
                "chars",
                "parse_s",
                "chunk_s",
                "bm25_tokens_s",
                "hygiene_s",
                "detect_s",
                "terms_s",
                "chunks",
                "peak_rss_mb",
            ],
            "Stages on text without punctuation (seconds; linear: double the characters, double the time)",
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("hostile", argv, _parse_args, _child, _run, _report)


if __name__ == "__main__":
    main()
