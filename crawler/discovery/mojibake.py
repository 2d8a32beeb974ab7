"""Pages whose UTF-8 text was decoded as Latin-1 or windows-1252 somewhere upstream, and saved again.

A CMS that moved its database from a latin1 table to a utf8 one, or a server that labels UTF-8
pages ``iso-8859-1``, serves "Investorâ€™s" for "Investor’s": every non-ASCII character is the
two or three Latin-1/windows-1252 characters of its own UTF-8 bytes. Titles, authors and the body
would keep the garbage, and word counts split at it.

When the whole document is of that kind, the repair is exact: map each character back to the byte
it was read from and decode those bytes as UTF-8. A text that is not (all) double-encoded fails
that strict round trip (a real "é" or "’" is not followed by the right continuation bytes) and is
left as it is. Partly garbled pages (a template in one encoding, an inserted block in another)
are left too: repairing them needs per-segment guessing (ftfy), which costs a tenth of a second
or more per page and may change text that was right.
"""

from __future__ import annotations

import codecs

__all__ = ["WHATWG_1252", "undo_double_encoding"]

_PASSES = 2  # text double-encoded twice over is seen too; more is not


def _c1_for_undefined(exc: UnicodeError) -> tuple[str | bytes, int]:
    """windows-1252 as browsers read it (WHATWG): the five bytes it leaves undefined are C1 controls.

    Both ways: decoding a byte 0x81, 0x8D, 0x8F, 0x90 or 0x9D gives U+0081... (not U+FFFD, which
    would lose the byte), and encoding such a control gives the byte back.
    """
    if isinstance(exc, UnicodeDecodeError):
        run = exc.object[exc.start:exc.end]
        return run.decode("latin-1"), exc.end  # cp1252 fails on no other byte
    if isinstance(exc, UnicodeEncodeError):
        run = exc.object[exc.start:exc.end]
        if all("\x80" <= ch <= "\x9f" for ch in run):
            return run.encode("latin-1"), exc.end
    raise exc


WHATWG_1252 = "newswarc-whatwg-1252"  # errors= name of the handler above, for the cp1252 codec
codecs.register_error(WHATWG_1252, _c1_for_undefined)


def _bytes_read_as(text: str) -> bytes | None:
    """The bytes ``text`` was decoded from, if it was decoded as Latin-1 or windows-1252; else None.

    Both encoders run in C and stop at the first character that is no byte of theirs, so a page
    that was decoded right (a "’" and a "→", or any CJK) costs almost nothing here.
    """
    try:
        return text.encode("latin-1")  # read as ISO-8859-1: C1 controls where windows-1252 has “ ’ €
    except UnicodeEncodeError as exc:
        # windows-1252's "€" or "’" of garbled text follows a lead byte's letter (â€™) or another
        # byte's; a real "’" follows a letter of the text (don’t): then the page is no garbling,
        # and the slower whole-page windows-1252 encoding is not tried
        if exc.start == 0 or not ("\u0080" <= text[exc.start - 1] <= "\u00bf"
                                  or "\u00c2" <= text[exc.start - 1] <= "\u00f4"):
            return None
    try:
        return text.encode("cp1252", errors=WHATWG_1252)
    except UnicodeEncodeError:
        return None


def undo_double_encoding(text: str) -> str:
    """``text`` with a whole-document UTF-8-read-as-Latin-1/windows-1252 garbling undone, else unchanged."""
    for _ in range(_PASSES):
        if text.isascii() or (data := _bytes_read_as(text)) is None:
            return text
        try:
            text = data.decode("utf-8")  # strict: real "é" or "’" are no UTF-8 sequences
        except UnicodeDecodeError:
            return text
    return text
