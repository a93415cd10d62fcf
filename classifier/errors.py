"""Exception hierarchy: one base class, each subclass also inherits the builtin it refines."""

from __future__ import annotations

__all__ = ["TukipyyntoError", "CorpusError", "TaxonomyError", "CatalogueError", "ModelError", "IngestError",
           "ReportError", "OutputError", "ValidationIssue"]


class TukipyyntoError(Exception):
    """Base class of every error this library raises on purpose."""


class CorpusError(TukipyyntoError, ValueError):
    """A corpus, taxonomy or catalogue file is malformed or inconsistent."""


class TaxonomyError(CorpusError):
    """A taxonomy file is malformed, or a label is not in the taxonomy."""


class CatalogueError(CorpusError):
    """A guideline catalogue is malformed (duplicate ids, missing dates, unknown topics)."""


class ModelError(TukipyyntoError, RuntimeError):
    """A model directory is missing, incomplete, tampered with or incompatible."""


class IngestError(TukipyyntoError, ValueError):
    """An input message or record could not be read."""


class ReportError(TukipyyntoError, ValueError):
    """A report cannot be built or written with the given arguments."""


class ValidationIssue:
    """One problem found while validating a file (not raised; collected)."""

    __slots__ = ("path", "line", "field", "message")

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ValidationIssue({str(self)!r})"


class OutputError(TukipyyntoError, OSError):
    """An output file cannot be written, already exists, or cannot be resumed."""
