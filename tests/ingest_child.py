"""An ingest in a child process that tests can stop where they choose and kill (SIGKILL), as a writer's
machine might be switched off: ``python tests/ingest_child.py INDEX CORPUS [--rebuild] [--pause-after N]
[--group N]``.

With ``--pause-after N`` it prints ``paused`` after the N-th document is ready and then waits forever
(holding the index's write lock, mid-ingest); ``--group`` makes the commit groups small, so that several
groups are committed before that point. The embedder is ``hashing`` (fast, deterministic).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("corpus")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--group", type=int, default=0)
    args = parser.parse_args()

    from assistant.index import ingest as ingest_mod
    from assistant.settings import Settings

    if args.group:
        ingest_mod.GROUP_CHUNKS = args.group

    def progress(done: int, total: int, message: str) -> None:
        if args.pause_after and done >= args.pause_after:
            print("paused", flush=True)
            while True:
                time.sleep(60)

    settings = Settings(index_dir=Path(args.index), embedder="hashing", corpus_dir=Path(args.corpus))
    report = ingest_mod.ingest([Path(args.corpus)], settings, rebuild=args.rebuild, progress=progress)
    print(f"done {report.documents_total}", flush=True)


if __name__ == "__main__":
    main()
