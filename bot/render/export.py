"""A supervisor's export: file names, zip parts of the stored .docx files, an .xlsx summary.

Everything here is pure or writes only into a directory it is given; the caller streams the
drafts from the database and sends the files.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Self

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Telegram accepts at most 50 MB per file sent by a bot; the margin covers the multipart framing.
PART_LIMIT = 45 * 1024 * 1024
# Most file systems allow 255 bytes per name; this leaves room for "-2" and for a prefix an
# unzipping tool may add, and keeps Windows' 260-character paths within reach.
MAX_FILENAME_BYTES = 180
REPLACEMENT = "_"

# Forbidden on Windows (and ":" in the macOS Finder, "/" everywhere).
_FORBIDDEN = frozenset('\\/:*?"<>|')
# Bidirectional controls can make "exe.docx" display as "xcod.exe": never part of a name.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Device names Windows reserves whatever the extension; the same list as ntpath.isreserved.
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{digit}" for device in ("COM", "LPT") for digit in "123456789\xb9\xb2\xb3"}
)

# Fixed parts of a stored (uncompressed) entry, from APPNOTE 4.3.7, 4.3.12 and 4.3.16.
_LOCAL_HEADER = 30
_CENTRAL_HEADER = 46
_END_OF_CENTRAL_DIRECTORY = 22
# A zip with more than 65,535 entries also needs the zip64 end record and its locator.
_ZIP64_END = 56 + 20
_ZIP16_MAX_ENTRIES = 0xFFFF

# Excel holds at most 32,767 characters (UTF-16 units) in a cell.
_EXCEL_CELL_LIMIT = 32_767
_EXCEL_SHEET_TITLE_LIMIT = 31
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")
# Excel keeps at most 15 significant digits: a longer integer would lose its last digits.
_EXCEL_EXACT_INT = 10**15
# Characters that make a spreadsheet treat a cell typed by hand as a formula.
_FORMULA_LEADS = ("=", "+", "-", "@")
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_MIN_WIDTH, _MAX_WIDTH, _WIDTH_PADDING = 6, 60, 2


class EntryTooLargeError(ValueError):
    """A single file cannot fit in a zip part of the allowed size."""


# --- file names ---------------------------------------------------------------------------


def safe_filename(stem: str, extension: str, *, max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """`stem` + `extension` as a name every common file system accepts, Chinese kept.

    Forbidden and control characters become "_", leading and trailing dots and spaces go, a
    Windows device name gets a "_" in front, and the stem is cut to fit `max_bytes` in UTF-8
    without splitting a character. An empty stem becomes "_".
    """
    limit = max_bytes - len(extension.encode())
    if limit < 1:
        raise ValueError(f"{max_bytes} bytes cannot hold a name ending in {extension!r}")
    cleaned = _clean_part(stem)
    cut = _cut_to_bytes(cleaned, limit).strip(". ")
    if cut.partition(".")[0].rstrip(" ").upper() in _RESERVED:
        # Cutting again keeps the limit; a reserved name is short, so nothing is lost.
        cut = _cut_to_bytes(REPLACEMENT + cut, limit)
    return (cut or REPLACEMENT) + extension


def docx_filename(
    name: str, report_name: str, period: str, *, max_bytes: int = MAX_FILENAME_BYTES
) -> str:
    """`<name>-<report type>-<period>.docx`, safe on Windows, macOS and Linux.

    Empty parts are left out; when the whole is too long the end (the period) is cut first.
    """
    parts = (_clean_part(part) for part in (name, report_name, period))
    return safe_filename("-".join(part for part in parts if part), ".docx", max_bytes=max_bytes)


def _clean_part(text: str) -> str:
    """One part of a name: unsafe characters replaced, whitespace runs as one space."""
    # NFC: macOS file systems compare names normalised, so "é" typed two ways is one name.
    text = unicodedata.normalize("NFC", text)
    chars = (REPLACEMENT if _unsafe(char) else char for char in text if char not in _BIDI_CONTROLS)
    return " ".join("".join(chars).split()).strip(". ")


def _unsafe(char: str) -> bool:
    """Whether `char` may not appear in a file name on some system we care about."""
    # Cc: C0/C1 controls (Windows rejects 1-31); Zl/Zp: line breaks; Cs: lone surrogates,
    # which cannot even be encoded.
    return char in _FORBIDDEN or unicodedata.category(char) in {"Cc", "Zl", "Zp", "Cs"}


def _cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` bytes in UTF-8, whole characters."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    end = len(encoded[:limit].decode(errors="ignore"))
    # Step back while the cut would part an accent or an emoji sequence from its base.
    while end > 0 and _binds(text[end - 1], text[end]):
        end -= 1
    return text[:end]


def _binds(previous: str, char: str) -> bool:
    """Whether `previous` and `char` belong to one visible character."""
    return (
        unicodedata.combining(char) != 0
        or char in "\u200d\ufe0e\ufe0f"
        or previous == "\u200d"
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin-tone modifiers
    )


class UniqueNames:
    """Gives each name once: a name seen before gets "-2", "-3" … before its extension.

    Names are compared case-insensitively and after NFC normalisation, as Windows and macOS
    compare them, so "Report.docx" and "report.docx" cannot overwrite each other on unzipping.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __call__(self, name: str) -> str:
        """`name`, or the first free numbered variant of it; the result is taken from now on."""
        candidate = self.free(name)
        self._taken.add(_key(candidate))
        return candidate

    def free(self, name: str) -> str:
        """What `self(name)` would return, without taking it."""
        stem, dot, extension = name.rpartition(".")
        if not stem:  # no extension, or a name like ".docx"
            stem, dot, extension = name, "", ""
        candidate, number = name, 1
        while _key(candidate) in self._taken:
            number += 1
            candidate = f"{stem}-{number}{dot}{extension}"
        return candidate


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


# --- zip parts ----------------------------------------------------------------------------


class ZipParts:
    """Writes files one at a time into zip archives of at most `part_limit` bytes each.

    Entries are stored uncompressed: a .docx is already a zip, and deflating one again saves
    about 6 % (measured on our reports), while storing makes each part's size known before
    the entry is written. Only the entry being added is held in memory.

    Parts are written under temporary names in `directory` (which should belong to this
    export alone) and renamed by `close()`: `<stem>.zip` when there is one part, else
    `<stem>-part1of3.zip` …. Names inside the zip are kept unique (see `UniqueNames`); a
    non-ASCII name is stored as UTF-8 with general-purpose flag bit 11 set (APPNOTE 6.3.0),
    which current Windows Explorer, macOS Archive Utility, WPS and common unzip tools honour.

    A file too large for any part raises `EntryTooLargeError` before anything of it is
    written: a part above the limit could not be sent through Telegram anyway, and failing
    at once lets the caller leave that file out, say so, and go on adding the others.

    Used as a context manager, an exception removes the parts written so far.
    """

    def __init__(
        self,
        directory: Path,
        stem: str,
        *,
        modified: datetime,
        part_limit: int = PART_LIMIT,
    ) -> None:
        """`modified`: the default time stamp of entries, a wall-clock time in the team's
        zone (zip stores local times without a zone)."""
        if part_limit < _END_OF_CENTRAL_DIRECTORY + _LOCAL_HEADER + _CENTRAL_HEADER + 2:
            raise ValueError(f"a part limit of {part_limit} bytes cannot hold any file")
        self.directory = directory
        self.stem = safe_filename(stem, "")
        self.part_limit = part_limit
        self.modified = modified
        self._names = UniqueNames()
        self._written: list[Path] = []
        self._zip: zipfile.ZipFile | None = None
        self._size = 0  # what the open part will measure once closed
        self._entries = 0
        self._closed = False

    @property
    def paths(self) -> list[Path]:
        """The parts written so far; their final names once closed."""
        return list(self._written)

    def add(self, filename: str, content: bytes, *, modified: datetime | None = None) -> str:
        """Add a file, opening a new part first if it would not fit; return the name used."""
        if self._closed:
            raise ValueError("the zip parts are already closed")
        if not filename or filename in {".", ".."} or any(c in filename for c in "/\\\0"):
            # A path inside a zip would be extracted outside the folder by some tools.
            raise ValueError(f"not a plain file name: {filename!r}")
        name = self._names.free(filename)
        cost = _LOCAL_HEADER + _CENTRAL_HEADER + 2 * len(name.encode()) + len(content)
        if _END_OF_CENTRAL_DIRECTORY + cost > self.part_limit:
            raise EntryTooLargeError(
                f"{filename!r} ({len(content)} bytes) cannot fit in a part of "
                f"{self.part_limit} bytes"
            )
        if self._zip is None or self._size + cost + _end_size(self._entries + 1) > self.part_limit:
            self._start_part()
        assert self._zip is not None
        info = zipfile.ZipInfo(name, date_time=_zip_time(modified or self.modified))
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16  # rw-r--r-- where permissions are kept
        self._zip.writestr(info, content)
        self._names(name)
        self._size += cost
        self._entries += 1
        return name

    def close(self) -> list[Path]:
        """Finish the last part, give the parts their final names and return them in order;
        no entries, no files."""
        if self._closed:
            raise ValueError("the zip parts are already closed")
        self._finish_part()
        self._closed = True
        count = len(self._written)
        final = [
            self.directory
            / (f"{self.stem}.zip" if count == 1 else f"{self.stem}-part{n}of{count}.zip")
            for n in range(1, count + 1)
        ]
        for temporary, path in zip(self._written, final, strict=True):
            os.replace(temporary, path)
        self._written = final
        return final

    def abort(self) -> None:
        """Stop and remove every part written so far."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        for path in self._written:
            path.unlink(missing_ok=True)
        self._written = []
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.close()

    def _start_part(self) -> None:
        self._finish_part()
        path = self.directory / f"{self.stem}-part{len(self._written) + 1}.zip.partial"
        self._written.append(path)
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)
        self._size = 0
        self._entries = 0

    def _finish_part(self) -> None:
        if self._zip is None:
            return
        self._zip.close()
        self._zip = None
        size = self._written[-1].stat().st_size
        if size > self.part_limit:
            # Our arithmetic no longer matches what zipfile writes (a new Python adding
            # extra fields?): better to fail here than to have Telegram refuse the file.
            raise RuntimeError(f"zip part of {size} bytes exceeds {self.part_limit}")


def _end_size(entries: int) -> int:
    """Bytes after the central directory of a part holding `entries` files."""
    extra = _ZIP64_END if entries > _ZIP16_MAX_ENTRIES else 0
    return _END_OF_CENTRAL_DIRECTORY + extra


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """A zip time stamp: wall-clock time, no zone, not before 1980."""
    if moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


# --- spreadsheet --------------------------------------------------------------------------

CellValue = str | int | datetime | None


def summary_xlsx(
    headers: Sequence[str], rows: Sequence[Sequence[CellValue]], *, sheet_title: str
) -> bytes:
    """One sheet as an .xlsx: a bold, frozen header row with filters, then `rows`.

    Every str is a text cell, never a formula or an error value, whatever it starts with;
    characters a workbook cannot hold are dropped. A datetime is a date cell in its own wall
    time (convert it to the team's zone first: Excel has no time zones). An int is a number,
    unless Excel would round it (16 digits or more), then text.
    """
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = _sheet_title(sheet_title)
    widths: dict[int, int] = {}
    bold = Font(bold=True)
    for row_number, row in enumerate([headers, *rows], start=1):
        for column, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=row_number, column=column)
            shown = _write(cell, value)
            widths[column] = max(widths.get(column, 0), _display_width(shown))
            if row_number == 1:
                cell.font = bold
    for column, width in widths.items():
        clamped = min(max(width + _WIDTH_PADDING, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(column)].width = clamped
    sheet.freeze_panes = "A2"
    if widths:
        sheet.auto_filter.ref = sheet.dimensions
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write(cell: Cell, value: CellValue) -> str:
    """Put `value` in `cell` with the right type; return the text it will show."""
    if isinstance(value, datetime):
        # openpyxl refuses aware datetimes; the wall time is what the reader should see.
        cell.value = value.replace(tzinfo=None)
        cell.number_format = _DATETIME_FORMAT
        return _DATETIME_FORMAT
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < _EXCEL_EXACT_INT:
        cell.value = value
        return str(value)
    text = _cell_text(str(value))
    cell.value = text
    # openpyxl infers the type from the value: "=…" would become a formula and "#N/A" an
    # error. The type is forced after the assignment, which is what the writer reads.
    cell.data_type = "s"
    if text.startswith(_FORMULA_LEADS):
        # The quote prefix keeps the text a text when someone edits the cell in Excel or WPS.
        cell.quotePrefix = True
    return text


def _cell_text(text: str) -> str:
    """`text` as a cell can hold it: no control characters, at most Excel's cell length."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    # XML 1.0 cannot carry C0 controls (bar tab and line breaks), lone surrogates or
    # U+FFFE/U+FFFF; C1 controls are legal but only ever the trace of a wrong decoding.
    kept = "".join(
        char
        for char in text
        if char == "\n"
        or (unicodedata.category(char) not in {"Cc", "Cs"} and char not in "\ufffe\uffff")
    )
    units = 0
    for index, char in enumerate(kept):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > _EXCEL_CELL_LIMIT:
            return kept[:index]
    return kept


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of \\ / ? * [ ] :."""
    cleaned = _SHEET_TITLE_FORBIDDEN.sub(REPLACEMENT, _cell_text(title).replace("\n", " "))
    cleaned = cleaned[:_EXCEL_SHEET_TITLE_LIMIT].strip().strip("'")
    if cleaned.casefold() == "history":  # reserved by Excel for change tracking
        cleaned += REPLACEMENT
    return cleaned or "Sheet1"


def _display_width(text: str) -> int:
    """Columns `text` takes in a spreadsheet: CJK and full-width characters count double."""
    return max((sum(map(_char_width, line)) for line in text.split("\n")), default=0)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1
