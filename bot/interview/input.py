"""What a typed message becomes before it is an answer: cleaned, checked, never cut."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# C0/C1 control characters other than tab and newline, lone surrogates and U+FFFE/U+FFFF:
# invisible, and forbidden in XML, so a .docx could never hold them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class Rejection(StrEnum):
    """Why a message cannot be taken as an answer."""

    EMPTY = "empty"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Rejected:
    """A message that was not taken, and why."""

    reason: Rejection
    length: int = 0


def clean_text(raw: str, *, limit: int) -> str | Rejected:
    """Normalise line ends, drop control characters; reject empty or over-long text."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return Rejected(Rejection.EMPTY)
    if len(text) > limit:
        return Rejected(Rejection.TOO_LONG, len(text))
    return text
