"""A broken runbook as one line: where it is (file:line) and what was expected there.

    runbook error: <file>:<line>: <key>: <what was expected>

`LoadContext` knows the line of every key of the document being loaded, so
each part of the loader can fail with `ctx.fail(path, display, expected)`.
"""

from __future__ import annotations

from cs_console.domain.toml_lines import key_lines, line_of


class RunbookError(ValueError):
    """A broken runbook, phrased as one line for the operator."""

    def __init__(self, source: str, line: int | None, key: str, expected: str) -> None:
        self.source, self.line, self.key, self.expected = source, line, key, expected
        where = source or "<runbook>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"runbook error: {where}: {key}: {expected}")


class LoadContext:
    """Where we are in the document, for error messages."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = key_lines(text)
        self.secret_inputs: set[str] = set()  # input names of type secret (never on a command line)

    def fail(self, path: str, display: str, expected: str) -> RunbookError:
        return RunbookError(self.source, line_of(self.lines, path), display, expected)

