"""The one project exception for user errors (bad seed, profile, output URI, bucket...).

Per-page trouble is never raised to the user: it is a counted, logged skip.
"""


class NewswarcError(Exception):
    """A user-facing problem; ``str(exc)`` is the one line the CLI prints."""

    exit_code = 1


class ConfigError(NewswarcError):
    """A seed or profile file is wrong: the message names the file, the key and the problem."""

    exit_code = 2

    def __init__(self, path: object, key: str | None, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {problem}")


class StorageError(NewswarcError):
    """The output location cannot be used (missing bucket, access denied, unwritable dir)."""

    exit_code = 3
