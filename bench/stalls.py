"""Stalled servers: how long until each misbehaving outside server is given up on, and the memory that took
(issue 16, finding 3). The model servers are ``tests/hostile_servers.HostileOpenAI`` on loopback:
  drip      a valid stream, one token every ``--interval`` seconds, never finishing
  stall     one token, then the stream stays open and silent
  endless   a valid stream as fast as the client reads, never finishing
  noline    a 200 answer whose body is bytes without a newline, forever
and a Chroma "server" (``SilentServer``) that accepts connections and never answers, for ``search`` and
``ingest``. Each measurement runs in a fresh child process, which reports its own peak resident memory
(``VmHWM``); a measurement that is still waiting after ``--give-up`` seconds is reported as ``hung``.

Rows ``call:*`` time one ``LLMClient.stream`` call (the error's message is shown); rows ``draft:*`` time a
whole ``write_draft`` (research report, three sections) until it falls back to the composer with a notice.

Run: ``.venv/bin/python -m bench.stalls`` (``--help``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, bench_main, machine, machine_line, run_child, table

MODEL_MODES = ("drip", "stall", "endless", "noline")


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn, give_up: float) -> tuple[str, float, str]:
    """(outcome, seconds, message) of ``fn()`` run in a thread, given up on after ``give_up`` seconds."""
    from hostile_servers import bounded

    outcome, took, value = bounded(fn, give_up)
    if outcome == "hung":
        return "hung", took, f"still waiting after {give_up:g} s"
    if outcome == "error":
        return "error", took, str(value).splitlines()[0][:160]
    return "returned", took, str(value)[:160]


def _child(params: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    sys.path.insert(0, str(PROJECT_ROOT))
    from hostile_servers import HostileOpenAI, SilentServer

    from assistant.settings import Settings

    kind, mode, give_up = params["kind"], params["mode"], params["give_up"]
    limits = {k: v for k, v in params["limits"].items() if v is not None}
    if kind == "chroma":
        from assistant.index import store
        from assistant.index.ingest import ingest
        from assistant.index.retrieval import Retriever

        if mode == "search":  # a complete local index first: the search must get as far as the server
            ingest(
                [PROJECT_ROOT / "corpus"],
                Settings(index_dir=Path(params["work"]) / "index", embedder="hashing"),
            )
        with SilentServer() as silent:
            settings = Settings(
                index_dir=Path(params["work"]) / "index",
                embedder="hashing",
                chroma_url=silent.url,
                chroma_timeout=params["chroma_timeout"],
            )
            if mode == "search":
                call = lambda: Retriever.open(settings).search("三会一课")  # noqa: E731
            else:
                call = lambda: ingest([PROJECT_ROOT / "corpus"], settings)  # noqa: E731
            outcome, took, message = _timed(call, give_up)
            store.forget_clients()
        return {
            "outcome": outcome,
            "seconds": round(took, 2),
            "message": message,
            "sent_mb": None,
            "peak_rss_mb": round(_vm_hwm_mb()),
        }

    with HostileOpenAI(mode, interval=params["interval"]) as server:
        settings = Settings(
            index_dir=Path(params["work"]) / "index",
            embedder="hashing",
            llm_base_url=server.base_url,
            llm_model="hostile",
        ).with_overrides(**limits)
        if kind == "call":
            from assistant.llm import LLMClient

            def call() -> str:
                return "".join(LLMClient(settings).stream("系统", "用户", max_tokens=params["max_tokens"]))
        else:
            from assistant.draft.pipeline import write_draft
            from assistant.records import DraftRequest
            from tests.seed_passages import SeedRetriever

            request = DraftRequest(
                "research-report",
                "机关党支部标准化规范化建设",
                unit="市医疗保障局",
                points=["加强党支部班子建设", "规范党内组织生活"],
            )

            def call() -> str:
                draft = write_draft(request, settings, retriever=SeedRetriever())
                notice = next((w for w in draft.warnings if "离线" in w), "")
                return f"fell back: {notice}" if notice else "no fallback notice"

        outcome, took, message = _timed(call, give_up)
        server.stop.set()
        sent = server.sent
    return {
        "outcome": outcome,
        "seconds": round(took, 2),
        "message": message,
        "sent_mb": round(sent / 1024 / 1024, 1),
        "peak_rss_mb": round(_vm_hwm_mb()),
    }


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.stalls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=float, default=20.0, help="llm_timeout: seconds to the first text")
    parser.add_argument("--idle", type=float, default=10.0, help="llm_idle_timeout")
    parser.add_argument("--deadline", type=float, default=0.0, help="llm_deadline (0: from max_tokens)")
    parser.add_argument("--max-tokens", type=int, default=200, help="max_tokens of the single calls")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between two dripped tokens")
    parser.add_argument("--chroma-timeout", type=float, default=5.0)
    parser.add_argument("--give-up", type=float, default=180.0, help="report 'hung' after this many seconds")
    parser.add_argument("--no-drafts", action="store_true", help="skip the whole-draft rows")
    parser.add_argument("--only", help="rows whose name holds one of these (comma-separated), e.g. chroma")
    parser.add_argument("--work-dir", type=Path, help="keep the scratch files here")
    parser.add_argument("--out-dir", type=Path, help="where to write the JSON (default bench/results)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import json

    limits = {"llm_timeout": args.first, "llm_idle_timeout": args.idle, "llm_deadline": args.deadline}
    jobs = [("call", mode) for mode in MODEL_MODES]
    if not args.no_drafts:
        jobs += [("draft", mode) for mode in MODEL_MODES]
    jobs += [("chroma", "search"), ("chroma", "ingest")]
    if args.only:
        jobs = [
            (kind, mode) for kind, mode in jobs if any(o in f"{kind}:{mode}" for o in args.only.split(","))
        ]
    rows = []
    for kind, mode in jobs:
        params = {
            "kind": kind,
            "mode": mode,
            "limits": limits,
            "max_tokens": args.max_tokens,
            "interval": args.interval,
            "chroma_timeout": args.chroma_timeout,
            "give_up": args.give_up,
            "work": str(work / f"{kind}-{mode}"),
        }
        result, _ = run_child("bench.stalls", ["--child", json.dumps(params)])
        rows.append({"server": f"{kind}:{mode}", **result})
    return {
        "machine": machine(),
        "limits": limits
        | {"max_tokens": args.max_tokens, "interval": args.interval, "chroma_timeout": args.chroma_timeout},
        "rows": rows,
    }


def _report(result: dict[str, Any]) -> str:
    lines = [machine_line(result["machine"]), f"limits: {result['limits']}", ""]
    lines.append(
        table(
            result["rows"],
            ["server", "outcome", "seconds", "sent_mb", "peak_rss_mb"],
            "Stalled servers: time until given up on",
        )
    )
    for row in result["rows"]:
        lines.append(f"  {row['server']}: {row['message']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("stalls", argv, _parse_args, _child, _run, _report)


if __name__ == "__main__":
    main()
