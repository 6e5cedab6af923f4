"""Which characters text from outside may carry: the one rule every parser at the edge
(form and query parameters, JSON bodies, URLs) applies to every string, and the
stricter rule for names that other people are shown.

Stored text: no NUL (PostgreSQL refuses it in text columns), no other C0 control or DEL
(nothing typed contains them; they only disguise or break text), no lone surrogate
(JSON can spell one, and it cannot be encoded to UTF-8). Tab, CR and LF stay: a
multi-line field may hold them. Displayed names are stricter: no control characters at
all and no bidirectional overrides or isolates, which make a name read as another."""

from __future__ import annotations

import re
import unicodedata

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_FORBIDDEN_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Unicode bidi embeddings, overrides, isolates and marks (UAX #9): a name "gpj.exe" can
# be made to read "exe.jpg", or "Acme" to be followed by text that appears to precede it.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def storable(text: str) -> bool:
    """Whether ``text`` may be stored as received."""
    return _FORBIDDEN.search(text) is None


def storable_bytes(raw: bytes) -> bool:
    """The same rule for percent-decoded bytes (UTF-8 validity is checked separately)."""
    return _FORBIDDEN_BYTES.search(raw) is None


def shown(name: str) -> str:
    """``name`` as a page shows it: without the characters ``displayable`` refuses (for
    names stored before a rule refused them, or written by hand)."""
    if displayable(name):
        return name
    return "".join(
        ch
        for ch in name
        if ch not in BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs")
    )


def displayable(name: str) -> bool:
    """Whether ``name`` may be shown to someone else as a name: no control characters
    (Cc, including tab and newline), surrogates (Cs) or bidi controls."""
    return not any(ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
