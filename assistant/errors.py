"""Errors a user can act on. Their message is Chinese, addressed to the writer, and says what to do."""


class UserError(Exception):
    """Bad input or state the user can fix. The CLI prints the message on one line and exits non-zero."""

    exit_code = 2


class InputError(UserError):
    """A file, request field or option is wrong."""


class IndexMissingError(UserError):
    """No index exists yet where one is expected."""


class IndexMismatchError(UserError):
    """The index was built with another embedder or format."""


class IndexDamagedError(UserError):
    """A part of the index cannot be read (truncated, overwritten, of the wrong shape, a rebuild cut short):
    the message names the part and says to run ``ingest --rebuild``; exit code as for a disk failure."""

    exit_code = 4


class IndexBusyError(UserError):
    """The index is being rebuilt by another process; it answers again when that ends."""


class BackendError(UserError):
    """An outside system (LLM endpoint, Chroma server) failed or is unreachable."""

    exit_code = 3


class BackendStalledError(BackendError):
    """The outside system took too long or sent too much (no first reply in time, a stalled or dripping
    stream, an answer over its size limits): asking it again for the next section would cost the writer
    the same wait again."""


class StorageError(UserError):
    """The disk under the index failed (full, read-only, no permission); exit code as for an ``OSError``."""

    exit_code = 4


def describe_os_error(exc: OSError) -> str:
    """A Chinese one-line description of a failed file operation (disk full, read-only, no permission),
    saying what to do; for the CLI and the web UI, which show it instead of a traceback."""
    import errno

    where = f"“{exc.filename}”" if exc.filename else "文件"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"磁盘空间不足，无法写入{where}。已入库的内容保持完整：请清理磁盘空间后重新运行同一操作。"
    if exc.errno == errno.EROFS:
        return (
            f"{where}所在的磁盘是只读的，无法写入。请把索引或范文文件夹放到可写的位置"
            "（--index / ASSISTANT_INDEX_DIR、ASSISTANT_CORPUS_DIR）后重试。"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"没有权限写入{where}。请检查文件夹权限，或改用可写的文件夹（--index / ASSISTANT_INDEX_DIR）。"
    return f"读写{where}失败：{exc.strerror or exc}。请检查磁盘和文件夹后重试。"
