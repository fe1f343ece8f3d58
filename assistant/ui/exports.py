"""Where the web app writes the drafts it offers for download, and their removal.

A draft's .docx and .md are written into a folder of this server process under the system temp folder
(``gongwen-ui/<pid>-<start>/``), and Gradio copies what it serves into its own cache. Both go when the app
stops: the process folder by the app's lifespan (and at exit), Gradio's copies by its ``delete_cache``
policy, which also removes copies older than a day while the app runs. At start, folders left by server
processes that no longer run (killed, or a machine switched off) are removed. Drafts are the writer's
work in progress on a shared machine: they should not outlive the server that made them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT_NAME = "gongwen-ui"
GRADIO_CACHE_POLICY = (3600, 86400)  # Gradio's delete_cache: every hour, copies older than a day; all at stop
_STARTED = time.strftime("%Y%m%d%H%M%S")


def root() -> Path:
    return Path(tempfile.gettempdir()) / ROOT_NAME


def process_folder() -> Path:
    """This server process's export folder."""
    return root() / f"{os.getpid()}-{_STARTED}"


def new_folder() -> Path:
    """A fresh folder for one draft's exports."""
    folder = process_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[Path]:
    """Remove the export folders of server processes that no longer run (and loose folders of the layout
    before per-process folders); returns what was removed."""
    removed = []
    if not root().is_dir():
        return removed
    mine = process_folder().name
    for child in root().iterdir():
        pid, _, _ = child.name.partition("-")
        if child.name == mine or (pid.isdigit() and _alive(int(pid))):
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def remove_own() -> None:
    shutil.rmtree(process_folder(), ignore_errors=True)


@asynccontextmanager
async def lifespan(app: Any):
    """The app's lifespan: stale folders swept at start, this process's exports removed at stop."""
    sweep_stale()
    try:
        yield
    finally:
        remove_own()


atexit.register(remove_own)
