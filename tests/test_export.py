"""A supervisor's export: safe file names, zip parts that fit Telegram, a summary of plain text."""

from __future__ import annotations

import random
import struct
import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.export import (
    MAX_FILENAME_BYTES,
    EntryTooLargeError,
    UniqueNames,
    ZipParts,
    docx_filename,
    safe_filename,
    summary_xlsx,
)

NOW = datetime(2026, 12, 20, 9, 30)


def unique_names(names: list[str]) -> list[str]:
    """Each name in order, as the zip writer would give it."""
    unique = UniqueNames()
    return [unique(name) for name in names]


UTF8_FLAG = 0x800  # general-purpose bit 11: the name is UTF-8
HYPERLINK = '=HYPERLINK("http://evil","x")'


# --- file names ---------------------------------------------------------------------------


def test_docx_filename_joins_name_report_and_period_keeping_chinese() -> None:
    assert docx_filename("张伟", "年度述职报告", "2026年度") == "张伟-年度述职报告-2026年度.docx"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('a\\b/c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j-述职报告-2026.docx"),
        ("张\x00伟\x1f", "张_伟_-述职报告-2026.docx"),
        ("李\u2028娜\u0085", "李_娜_-述职报告-2026.docx"),
        ("  ..张伟.  ", "张伟-述职报告-2026.docx"),
        ("张  \t 伟", "张 _ 伟-述职报告-2026.docx"),
        # A right-to-left override would show "王芳\u202excod.exe" as "王芳exe.docx".
        ("王芳\u202excod.exe", "王芳xcod.exe-述职报告-2026.docx"),
    ],
)
def test_unsafe_characters_are_replaced_or_dropped(name: str, expected: str) -> None:
    assert docx_filename(name, "述职报告", "2026") == expected


def test_separators_in_the_period_do_not_make_folders() -> None:
    assert docx_filename("张伟", "述职报告", "2025/2026") == "张伟-述职报告-2025_2026.docx"


@pytest.mark.parametrize("device", ["CON", "nul", "Com1", "LPT9", "aux.txt", "CON "])
def test_windows_device_names_are_prefixed(device: str) -> None:
    name = safe_filename(device, ".docx")
    assert name.startswith("_")
    assert name.partition(".")[0].rstrip(" ").upper() not in {"CON", "NUL", "COM1", "LPT9", "AUX"}


def test_a_name_made_only_of_dots_and_spaces_is_not_empty() -> None:
    assert docx_filename(" . ", "", "..") == "_.docx"


# q́ has no precomposed form; the family is five code points shown as one emoji.
@pytest.mark.parametrize("char", ["张", "😀", "q\u0301", "👨\u200d👩\u200d👧"])
def test_long_names_are_cut_in_utf8_bytes_between_characters(char: str) -> None:
    name = docx_filename(char * 200, "年度述职报告", "2026")
    assert len(name.encode()) <= MAX_FILENAME_BYTES
    assert name.endswith(".docx")
    stem = name.removesuffix(".docx")
    assert stem == char * (len(stem) // len(char))  # whole characters only


def test_the_same_name_again_is_numbered_before_the_extension() -> None:
    names = ["张伟.docx", "李娜.docx", "张伟.docx", "张伟.docx"]
    assert list(unique_names(names)) == ["张伟.docx", "李娜.docx", "张伟-2.docx", "张伟-3.docx"]


def test_names_differing_only_in_case_count_as_the_same() -> None:
    names = ["Jane-Report.docx", "jane-report.DOCX", "JANE-REPORT.docx"]
    assert list(unique_names(names)) == [
        "Jane-Report.docx",
        "jane-report-2.DOCX",
        "JANE-REPORT-3.docx",
    ]


def test_a_numbered_name_never_collides_with_a_later_real_one() -> None:
    out = list(unique_names(["a.docx", "a.docx", "a-2.docx"]))
    assert len({name.casefold() for name in out}) == 3


# --- zip parts ----------------------------------------------------------------------------


def flag_bits(path: Path) -> list[tuple[str, int, int]]:
    """Each entry's name and flag bits as stored in the central directory and local header."""
    out = []
    with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        for info in archive.infolist():
            raw.seek(info.header_offset)
            signature, _version, local_flags = struct.unpack("<4sHH", raw.read(8))
            assert signature == b"PK\x03\x04"
            out.append((info.filename, info.flag_bits, local_flags))
    return out


def contents(parts: list[Path]) -> list[tuple[str, bytes]]:
    """Every entry of every part, in order, after checking each part's CRCs."""
    out = []
    for part in parts:
        with zipfile.ZipFile(part) as archive:
            assert archive.testzip() is None
            out += [(info.filename, archive.read(info)) for info in archive.infolist()]
    return out


def test_one_part_is_named_after_the_stem_and_keeps_chinese_names(tmp_path: Path) -> None:
    with ZipParts(tmp_path, "述职报告-2026", modified=NOW) as parts:
        parts.add("张伟-年度述职报告-2026.docx", b"zh")
        parts.add("Jane Smith-Annual report-2026.docx", b"en")
    [part] = parts.paths
    assert part.name == "述职报告-2026.zip"
    assert flag_bits(part) == [
        ("张伟-年度述职报告-2026.docx", UTF8_FLAG, UTF8_FLAG),
        ("Jane Smith-Annual report-2026.docx", 0, 0),  # ASCII needs no flag
    ]
    with zipfile.ZipFile(part) as archive:
        info = archive.getinfo("张伟-年度述职报告-2026.docx")
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (2026, 12, 20, 9, 30, 0)


def test_entries_stream_into_several_parts_each_within_the_limit(tmp_path: Path) -> None:
    rng = random.Random(7)
    entries = [
        (f"干部{i:02}-述职报告-2026.docx", rng.randbytes(rng.randint(1, 9000))) for i in range(40)
    ]
    limit = 30_000
    parts = ZipParts(tmp_path, "述职报告", modified=NOW, part_limit=limit)
    for name, content in entries:
        parts.add(name, content)
    paths = parts.close()

    assert len(paths) > 1
    assert [p.name for p in paths] == [
        f"述职报告-part{i}of{len(paths)}.zip" for i in range(1, len(paths) + 1)
    ]
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no temporary files left
    for path in paths:
        assert path.stat().st_size <= limit
    assert contents(paths) == entries  # every entry exactly once, in order, intact


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=25),
    limit=st.integers(min_value=3200, max_value=12_000),
)
def test_parts_are_filled_as_far_as_the_limit_allows(sizes: list[int], limit: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        parts = ZipParts(Path(directory), "export", modified=NOW, part_limit=limit)
        for i, size in enumerate(sizes):
            parts.add(f"报告{i}.docx", bytes(size))
        paths = parts.close()
        part_sizes = [path.stat().st_size for path in paths]
        assert all(size <= limit for size in part_sizes)
        # A new part starts only when the next entry would not fit: the byte sizes are exact.
        counts = []
        for path in paths:
            with zipfile.ZipFile(path) as archive:
                counts.append(len(archive.infolist()))
        first_of_next = 0
        for size, count in zip(part_sizes[:-1], counts, strict=False):
            first_of_next += count
            next_name = f"报告{first_of_next}.docx".encode()
            assert size + 30 + 46 + 2 * len(next_name) + sizes[first_of_next] > limit


def test_duplicate_names_are_numbered_across_parts(tmp_path: Path) -> None:
    with ZipParts(tmp_path, "export", modified=NOW, part_limit=400) as parts:
        used = [parts.add("张伟-述职报告-2026.docx", bytes(100)) for _ in range(3)]
    assert used == [
        "张伟-述职报告-2026.docx",
        "张伟-述职报告-2026-2.docx",
        "张伟-述职报告-2026-3.docx",
    ]
    names = [name for name, _ in contents(parts.paths)]
    assert sorted(names) == sorted(used)


def test_a_file_larger_than_a_part_is_refused_and_the_others_still_go_in(tmp_path: Path) -> None:
    with ZipParts(tmp_path, "export", modified=NOW, part_limit=5_000) as parts:
        parts.add("a.docx", bytes(1000))
        with pytest.raises(EntryTooLargeError):
            parts.add("huge.docx", bytes(5_000))
        parts.add("huge.docx", bytes(10))  # the refused name was never taken
    assert [name for name, _ in contents(parts.paths)] == ["a.docx", "huge.docx"]


@pytest.mark.parametrize("name", ["../evil.docx", "dir/a.docx", "a\\b.docx", "", ".."])
def test_a_path_is_not_accepted_as_a_file_name(tmp_path: Path, name: str) -> None:
    with ZipParts(tmp_path, "export", modified=NOW) as parts, pytest.raises(ValueError):
        parts.add(name, b"x")


def test_an_error_while_streaming_removes_the_parts(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError),
        ZipParts(tmp_path, "export", modified=NOW, part_limit=500) as parts,
    ):
        for i in range(5):
            parts.add(f"{i}.docx", bytes(200))
        raise RuntimeError("the database went away")
    assert list(tmp_path.iterdir()) == []


def test_no_entries_make_no_files(tmp_path: Path) -> None:
    assert ZipParts(tmp_path, "export", modified=NOW).close() == []
    assert list(tmp_path.iterdir()) == []


def realistic_drafts(count: int, *, seed: int = 1) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of `count` stored .docx of about 40 KB, made one at a time as a
    database cursor would yield them. Random bytes: a .docx is already compressed."""
    rng = random.Random(seed)
    surnames = "王李张刘陈杨赵黄周吴"
    for i in range(count):
        name = docx_filename(f"{rng.choice(surnames)}{i}", "年度述职报告", "2026年度")
        yield name, rng.randbytes(rng.randint(36_000, 44_000))


def test_a_thousand_reports_stream_without_being_held_in_memory(tmp_path: Path) -> None:
    total = 0
    tracemalloc.start()
    try:
        with ZipParts(tmp_path, "述职报告-2026", modified=NOW) as parts:
            for name, content in realistic_drafts(1000):
                parts.add(name, content)
                total += len(content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    paths = parts.paths
    # Diagnostic (pytest -s): what one export costs in memory beside the bytes it writes.
    mib = 2**20
    print(
        f"\n1000 entries, {total / mib:.1f} MiB in {len(paths)} part(s); peak {peak / mib:.2f} MiB"
    )
    assert peak < total / 10  # about one entry plus the central directory, not the export
    assert sum(len(zipfile.ZipFile(path).infolist()) for path in paths) == 1000


# --- spreadsheet --------------------------------------------------------------------------

HEADERS = ["姓名", "职务", "报告", "版本", "提交时间"]


def workbook_xml(data: bytes) -> dict[str, ElementTree.Element]:
    """Every XML part of an .xlsx, parsed (which also proves each is well-formed)."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {
            name: ElementTree.fromstring(archive.read(name))
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        }


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def cell_element(data: bytes, ref: str) -> ElementTree.Element:
    sheet = workbook_xml(data)["xl/worksheets/sheet1.xml"]
    return next(c for c in sheet.iter() if local(c.tag) == "c" and c.get("r") == ref)


def test_a_name_that_looks_like_a_formula_is_written_as_text() -> None:
    rows = [[HYPERLINK, "+1", "-2", "@SUM(A1)", "#N/A"]]
    data = summary_xlsx(HEADERS, rows, sheet_title="汇总")

    parts = workbook_xml(data)
    assert not [e for root in parts.values() for e in root.iter() if local(e.tag) == "f"]
    a2 = cell_element(data, "A2")
    assert a2.get("t") in {"inlineStr", "s"}
    assert "".join(a2.itertext()) == HYPERLINK

    sheet = openpyxl.load_workbook(BytesIO(data)).active
    assert sheet is not None
    cells = sheet[2]
    assert [c.value for c in cells] == rows[0]
    assert {c.data_type for c in cells} == {"s"}
    # Text that Excel would read as a formula when typed stays text when edited by hand.
    assert [c.quotePrefix for c in cells] == [True, True, True, True, False]


def test_chinese_text_survives_in_the_file_and_read_back() -> None:
    data = summary_xlsx(
        HEADERS, [["张伟", "市发展改革委副主任", "年度述职报告", 2, None]], sheet_title="述职报告"
    )
    assert "".join(cell_element(data, "A2").itertext()) == "张伟"
    book = openpyxl.load_workbook(BytesIO(data))
    assert book.sheetnames == ["述职报告"]
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == HEADERS
    assert [c.value for c in sheet[2]] == ["张伟", "市发展改革委副主任", "年度述职报告", 2, None]


def test_characters_a_workbook_cannot_hold_are_removed() -> None:
    data = summary_xlsx(
        ["姓名"], [["张\x00伟\x07\x1b"], ["第一行\r\n第二行\t完"], ["\ud800李娜"]], sheet_title="t"
    )
    sheet = openpyxl.load_workbook(BytesIO(data)).active
    assert sheet is not None
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [
        "张伟",
        "第一行\n第二行 完",
        "李娜",
    ]


def test_dates_are_date_cells_and_counts_are_numbers() -> None:
    beijing = timezone(timedelta(hours=8))
    submitted = datetime(2026, 12, 20, 17, 45, tzinfo=beijing)
    data = summary_xlsx(HEADERS, [["张伟", "", "", 3, submitted]], sheet_title="t")
    sheet = openpyxl.load_workbook(BytesIO(data)).active
    assert sheet is not None
    version, when = sheet["D2"], sheet["E2"]
    assert (version.data_type, version.value) == ("n", 3)
    assert when.is_date
    assert when.value == datetime(2026, 12, 20, 17, 45)  # the wall time the caller chose
    assert "yyyy" in when.number_format


def test_an_integer_excel_would_round_is_kept_as_text() -> None:
    data = summary_xlsx(["id"], [[12345678901234567]], sheet_title="t")
    sheet = openpyxl.load_workbook(BytesIO(data)).active
    assert sheet is not None
    assert sheet["A2"].value == "12345678901234567"


def test_the_header_is_bold_and_frozen_and_wide_text_gets_wide_columns() -> None:
    rows = [["欧阳娜娜", "Head", "年度述职报告", 1, datetime(2026, 1, 1, tzinfo=UTC)]]
    data = summary_xlsx(HEADERS, rows, sheet_title="t")
    sheet = openpyxl.load_workbook(BytesIO(data)).active
    assert sheet is not None
    assert all(c.font.bold for c in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    # Four CJK characters take the room of eight Latin ones; six of them more still.
    assert widths["A"] >= 8
    assert widths["C"] > widths["A"] > widths["B"]


def test_a_sheet_title_excel_would_refuse_is_made_acceptable() -> None:
    data = summary_xlsx(
        ["a"], [], sheet_title="述职报告: 2025/2026 [全体干部] 汇总表 — 组织部干部科"
    )
    [title] = openpyxl.load_workbook(BytesIO(data)).sheetnames
    assert len(title) <= 31
    assert not set(title) & set("\\/?*[]:")
    assert title.startswith("述职报告_ 2025_2026 _全体干部_")
