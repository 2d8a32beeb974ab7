"""The messages between the crawl and its WARC writer process: typed, so each side names what it sends.

Parent to child: :class:`OpenChannel`, then :class:`Batch` es of :class:`WriteExchange` and
:class:`WriteMetadata` jobs, then :class:`CloseChannel`; :class:`Stop` ends the process. One
writer process serves every crawl of a command, one *channel* (its own files) per crawl.

Child to parent: a :class:`Reply` per batch, with a :class:`Written` per exchange, a
:class:`MetadataWritten` per metadata record, :class:`FileEvent` s, :class:`WriterError` s (logged
by the parent) and, last, :class:`ChannelClosed`. :class:`Died` is the parent's own note that
the child is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from crawler.warc.records import Exchange

# --- parent -> child

@dataclass(frozen=True, slots=True)
class WriteExchange:
    """Write one exchange (response or revisit, then request); ``seq`` names it in the answer."""

    seq: int
    exchange: Exchange


@dataclass(frozen=True, slots=True)
class WriteMetadata:
    """Write the metadata record of a page (``fields``: seed, route, depth, outlinks...)."""

    uri: str
    date: str
    concurrent_to: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class OpenChannel:
    """Start writing files for one crawl: its work directory, file options, revisit lookups."""

    channel: int
    root: str
    writer_args: dict[str, Any]
    state_path: str | None
    revisits: bool


@dataclass(frozen=True, slots=True)
class Batch:
    channel: int
    jobs: list[WriteExchange | WriteMetadata]


@dataclass(frozen=True, slots=True)
class CloseChannel:
    """Close the crawl's current file; answered by a :class:`ChannelClosed`."""

    channel: int


@dataclass(frozen=True, slots=True)
class Stop:
    """Close every file and exit."""


# --- child -> parent

@dataclass(frozen=True, slots=True)
class WrittenAt:
    key: str
    offset: int
    length: int
    record_type: str
    payload_digest: str


@dataclass(frozen=True, slots=True)
class Written:
    """One exchange written (``at``), or not (``error``); ``new_digest``: a payload the state should remember."""

    seq: int
    at: WrittenAt | None
    counts: dict[str, int]
    new_digest: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MetadataWritten:
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class FileEvent:
    event: Literal["opened", "closed"]
    key: str


@dataclass(frozen=True, slots=True)
class WriterError:
    """A failure in the child, logged by the parent (its logging keeps tracebacks off the terminal)."""

    what: str
    traceback: str


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    """The channel's last file is closed: nothing more comes for it."""


@dataclass(frozen=True, slots=True)
class Died:
    """The writer process is gone (killed, crashed): what was in flight is lost."""


Result = Written | MetadataWritten | FileEvent | WriterError | ChannelClosed | Died


@dataclass(frozen=True, slots=True)
class Reply:
    channel: int
    results: list[Result] = field(default_factory=list)
