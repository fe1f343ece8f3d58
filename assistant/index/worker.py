"""Reading one corpus file into parsed, chunked documents — in this process, or in a worker process with a
time and memory limit (``ingest(..., isolate=True)``, used for web uploads).

The worker is a fresh interpreter (``python -m assistant.index.worker``), not a fork of the caller: the
caller may be a web server with threads and an open Chroma client, which a fork would copy mid-state. The
worker sets its own limits first thing (``resource.setrlimit``: address space and CPU seconds, inherited by
the LibreOffice it may start), reads a JSON request on stdin and writes a JSON answer on stdout; the caller
also enforces a wall-clock deadline and kills the worker's whole process group when it passes. So a file
that would take minutes or gigabytes fails alone, with a Chinese message, and the caller stays up. JSON,
not pickle, crosses the boundary: nothing the worker sends can run code in the caller.

Trade-off: about 0.3 s of interpreter start per file, which is why only uploads (a few files at a time) use
it; the CLI ingests in-process, where the limits in ``loaders``/``office`` still bound every step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import doctypes
from ..errors import InputError, UserError
from ..records import Chunk, Document, ParsedDocument, Section
from . import chunking, loaders, split, structure

WORKER_SECONDS = 150  # wall clock per file (LibreOffice's own conversion timeout is shorter)
WORKER_MEMORY_MB = 2048  # address space of the worker (and of a LibreOffice it starts)


@dataclass
class ReadDocument:
    """One document read from a file; ``parsed``/``chunks`` are filled when a worker already parsed it."""

    document: Document
    parsed: ParsedDocument | None = None
    chunks: list[Chunk] | None = None


def read_parts(
    path: Path, meta: dict[str, Any], root: Path | None, types: dict[str, doctypes.DocType]
) -> list[Document]:
    """The documents in one file (several when it is a 合集), loaded and cleaned. Raises InputError."""
    return split.split_document(loaders.load_document(path, meta, root=root), types)


def read_file(
    path: Path, meta: dict[str, Any], root: Path | None, settings, isolate: bool = False
) -> list[ReadDocument]:
    """The documents of one file; with ``isolate`` read, parsed and chunked in a limited worker process."""
    if not isolate:
        types = doctypes.load_doctypes(settings.prompts_dir)
        return [ReadDocument(d) for d in read_parts(path, meta, root, types)]
    request = {
        "path": str(path),
        "meta": meta,
        "root": str(root) if root is not None else None,
        "prompts_dir": str(settings.prompts_dir),
        "max_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.chunk_overlap_tokens,
        "memory_mb": WORKER_MEMORY_MB,
        "seconds": WORKER_SECONDS,
    }
    answer = _run(request, Path(path).name)
    if "error" in answer:
        raise InputError(answer["error"])
    return [
        ReadDocument(
            Document(**item["document"]),
            _parsed_from(item["parsed"], Document(**item["document"])),
            [Chunk(**c) for c in item["chunks"]],
        )
        for item in answer["documents"]
    ]


def _run(request: dict[str, Any], name: str) -> dict[str, Any]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.index.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: a timeout kills LibreOffice with it
    )
    try:
        out, _ = process.communicate(json.dumps(request).encode("utf-8"), timeout=request["seconds"])
    except subprocess.TimeoutExpired:
        _kill(process)
        raise InputError(
            f"文件 {name} 无法导入：解析超过 {request['seconds']} 秒仍未完成，已中止（其他文件不受影响）。"
            "请检查文件是否异常，或用 Word/WPS 只保留正文另存后再导入。"
        ) from None
    finally:
        if process.poll() is None:
            _kill(process)
    try:
        return json.loads(out.decode("utf-8"))
    except ValueError:
        if process.returncode in (-signal.SIGKILL, -signal.SIGXCPU, -signal.SIGSEGV, -signal.SIGABRT, 137):
            why = "占用的内存或时间超过上限，已中止"
        else:
            why = f"解析进程异常退出（代码 {process.returncode}）"
        return {
            "error": f"文件 {name} 无法导入：{why}（其他文件不受影响）。"
            "请检查文件是否异常，或用 Word/WPS 只保留正文另存后再导入。"
        }


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _parsed_from(data: dict[str, Any], document: Document) -> ParsedDocument:
    def section(raw: dict[str, Any]) -> Section:
        return Section(**{**raw, "children": [section(c) for c in raw.get("children", [])]})

    return ParsedDocument(
        document=document,
        doc_type=data["doc_type"],
        type_confidence=data["type_confidence"],
        sections=[section(s) for s in data["sections"]],
        salutation=data.get("salutation", ""),
        opening=data.get("opening", ""),
        closing=data.get("closing", ""),
    )


def _limit(memory_mb: int, seconds: int) -> None:
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))


def _serve(request: dict[str, Any]) -> dict[str, Any]:
    prompts_dir = Path(request["prompts_dir"])
    types = doctypes.load_doctypes(prompts_dir)
    root = Path(request["root"]) if request.get("root") else None
    documents = read_parts(Path(request["path"]), request.get("meta") or {}, root, types)
    out = []
    for document in documents:
        parsed = structure.parse(document, prompts_dir)
        chunks = chunking.chunk_document(parsed, request["max_tokens"], request["overlap_tokens"])
        data = {
            "doc_type": parsed.doc_type,
            "type_confidence": parsed.type_confidence,
            "sections": [s.to_dict() for s in parsed.sections],
            "salutation": parsed.salutation,
            "opening": parsed.opening,
            "closing": parsed.closing,
        }
        out.append({"document": document.to_dict(), "parsed": data, "chunks": [c.to_dict() for c in chunks]})
    return {"documents": out}


def main() -> int:
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    _limit(int(request["memory_mb"]), int(request["seconds"]))
    name = Path(request["path"]).name
    try:
        answer = _serve(request)
    except UserError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"文件 {name} 无法导入：解析时占用内存超过上限，已中止（其他文件不受影响）。"}
    except RecursionError:
        answer = {"error": f"文件 {name} 无法导入：文件结构嵌套过深，无法解析。请用 Word/WPS 另存后再导入。"}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
