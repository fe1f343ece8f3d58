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


class BackendError(UserError):
    """An outside system (LLM endpoint, Chroma server) failed or is unreachable."""

    exit_code = 3
