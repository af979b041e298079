"""A supervisor's export through the bot: the stored .docx of every member's latest version
in a zip (in parts when large), and an .xlsx summary of every member."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.services.exports import build
from bot.services.replies import PendingExport
from bot.store.db import Database
from bot.store.models import Submission, SubmissionVersion, Team
from tests.utils.teams import completes_annual_report, joins, submits, supervisor_with_team
from tests.utils.telegram import FakeTelegram

FORMULA_NAME = '=HYPERLINK("http://evil.example/x","点我")'


async def team_with_reports(tg: FakeTelegram) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    for user_id, name, submit in (
        (2, "张伟", True),
        (3, FORMULA_NAME, True),
        (4, "张伟", True),
        (5, "王芳", False),
    ):
        cadre = tg.user(user_id)
        await cadre.registers(name=name)
        await joins(cadre, code)
        if submit:
            await completes_annual_report(cadre)
            await submits(cadre)
    await tg.deliver()


async def stored_latest(db: Database) -> set[bytes]:
    async with db.session() as session:
        rows = (
            await session.exec(
                select(SubmissionVersion.docx)
                .join(Submission, col(Submission.id) == col(SubmissionVersion.submission_id))
                .where(col(Submission.version) == col(SubmissionVersion.number))
            )
        ).all()
    return set(rows)


async def test_the_export_holds_the_stored_files_and_a_summary_of_every_member(
    tg: FakeTelegram, db: Database
) -> None:
    await team_with_reports(tg)
    boss = tg.user(1)
    await boss.says("/team")
    await boss.presses("进度看板")
    board = boss.last_text
    assert "共 4 人" in board and "待审阅 3" in board and "未开始 1" in board
    before = len(boss.documents)
    await boss.presses("导出全部")
    files = dict(boss.documents[before:])
    [zip_name] = [n for n in files if n.endswith(".zip")]
    [xlsx_name] = [n for n in files if n.endswith(".xlsx")]
    assert zip_name == "市教育局述职组-年度述职报告-2026.zip"
    with zipfile.ZipFile(io.BytesIO(files[zip_name])) as archive:
        names = archive.namelist()
        contents = {archive.read(n) for n in names}
    assert "张伟-年度述职报告-2026.docx" in names and "张伟-年度述职报告-2026-2.docx" in names
    assert len(names) == 3 and not any(c in n for n in names for c in '/:"')
    assert contents == await stored_latest(db)  # the bytes as submitted, not regenerated

    sheet = load_workbook(io.BytesIO(files[xlsx_name])).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    assert header[:4] == ["姓名", "职务", "单位", "状态"]
    by_name = {}
    for row in rows[1:]:
        by_name.setdefault(row[0].value, []).append(row)
    [formula_row] = by_name[FORMULA_NAME]
    assert formula_row[0].data_type == "s"  # text, never a formula
    assert [r[3].value for r in by_name["王芳"]] == ["未开始"]
    assert all(r[3].value == "待审阅" and r[6].value > 0 for r in by_name["张伟"])
    with zipfile.ZipFile(io.BytesIO(files[xlsx_name])) as workbook:
        assert not any(
            "<f>" in workbook.read(n).decode() for n in workbook.namelist() if n.endswith(".xml")
        )


async def test_a_large_export_comes_in_parts_each_within_the_limit(
    tg: FakeTelegram, db: Database, tmp_path: Path
) -> None:
    await team_with_reports(tg)
    async with db.session() as session:
        team = (await session.exec(select(Team))).one()
        sizes = [len(d) for d in (await session.exec(select(SubmissionVersion.docx))).all()]
    assert team.id is not None
    limit = max(sizes) + 1000  # one report a part
    pending = PendingExport(team.id, team.name, "annual", "2026", "zh")
    files = await build(
        tg.deps.db, tg.deps.res, pending, tmp_path, now=tg.clock(), part_limit=limit
    )
    assert len(files.parts) == 3 and files.reports == 3
    assert files.parts[0].name.endswith("-part1of3.zip")
    seen: list[bytes] = []
    for part in files.parts:
        assert part.stat().st_size <= limit
        with zipfile.ZipFile(part) as archive:
            seen += [archive.read(n) for n in archive.namelist()]
    assert len(seen) == 3 and set(seen) == await stored_latest(db)
