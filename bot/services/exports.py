"""A supervisor's export: every member's latest submitted .docx of one report type and
period (the stored bytes, never regenerated), zipped in parts Telegram accepts, and an .xlsx
summary of every member.

The press is checked and answered in its transaction; the files are built after it has
committed (`PendingExport`), reading the stored versions a page at a time in short sessions
of their own, so no lock is held and memory holds one page of documents at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.questionnaire import Language
from bot.render.export import PART_LIMIT, ZipParts, docx_filename, summary_xlsx
from bot.services.access import refused
from bot.services.board import Row, Standing, load_board
from bot.services.replies import Attachment, PendingExport, Reply
from bot.services.resources import Resources, as_language
from bot.services.submissions import parse_board_arg
from bot.store.db import Database
from bot.store.models import Cadre, Submission, SubmissionStatus, SubmissionVersion, Team

PAGE = 50  # versions read per session while building


async def request(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, arg: str
) -> Sequence[Reply | PendingExport]:
    """Export pressed on a board the person supervises: say it is coming, build it after."""
    parsed = parse_board_arg(arg)
    lang = as_language(cadre.language, res.default_language)
    if parsed is None or (parsed[0], lang) not in res.catalogue.by_key:
        return [refused(res, cadre.language)]
    report_type, period = parsed
    assert team.id is not None
    report_name = res.catalogue.get(report_type, lang).name
    pending = PendingExport(team.id, team.name, report_type, period, lang)
    started = Reply(
        res.t(lang, "export_started", report=report_name, period=period), standalone=True
    )
    return [started, pending]


@dataclass(frozen=True)
class ExportFiles:
    """What an export made: zip parts and the summary, and how many reports went in."""

    parts: list[Path]
    summary: Path
    reports: int
    too_large: list[str]


async def build(
    db: Database,
    res: Resources,
    pending: PendingExport,
    directory: Path,
    *,
    now: datetime,
    part_limit: int = PART_LIMIT,
) -> ExportFiles:
    """Write the zip parts and the summary into `directory` (the caller's, temporary)."""
    lang = as_language(pending.language, res.default_language)
    report_name = res.catalogue.get(pending.report_type, lang).name
    async with db.session() as session:
        team = await session.get(Team, pending.team_id)
        if team is None:
            raise LookupError(f"team {pending.team_id} is gone")
        board = await load_board(session, res, team, pending.report_type, pending.period)
        people = {
            c.id: c
            for c in (
                await session.exec(
                    select(Cadre).where(col(Cadre.id).in_([r.cadre_id for r in board.rows]))
                )
            ).all()
        }
        approved = {
            cadre_id: decided_at
            for cadre_id, decided_at in (
                await session.exec(
                    select(Submission.cadre_id, Submission.decided_at).where(
                        col(Submission.team_id) == pending.team_id,
                        col(Submission.report_type) == pending.report_type,
                        col(Submission.period) == pending.period,
                        col(Submission.status) == SubmissionStatus.APPROVED,
                    )
                )
            ).all()
            if decided_at is not None
        }
    listed = {row.cadre_id for row in board.rows}
    local_now = now.astimezone(res.zone).replace(tzinfo=None)
    stem = docx_filename(pending.team_name, report_name, pending.period).removesuffix(".docx")
    details: dict[int, tuple[datetime, int, int]] = {}  # submitted at, characters, warnings
    too_large: list[str] = []
    reports = 0
    with ZipParts(directory, stem, modified=local_now, part_limit=part_limit) as zipped:
        after = 0
        while True:
            async with db.session() as session:
                page = await _versions(session, pending, after)
            for submission_id, cadre_id, name, docx, submitted_at, characters, warnings in page:
                after = submission_id
                if cadre_id not in listed:
                    continue  # not on the board (a member since made supervisor): not here
                details[cadre_id] = (submitted_at, characters, len(warnings or []))
                filename = docx_filename(name, report_name, pending.period)
                try:
                    zipped.add(
                        filename,
                        docx,
                        modified=submitted_at.astimezone(res.zone).replace(tzinfo=None),
                    )
                    reports += 1
                except ValueError:
                    too_large.append(name)
            if len(page) < PAGE:
                break
        parts = zipped.close()
    summary = directory / f"{stem}.xlsx"
    local = {k: v.astimezone(res.zone).replace(tzinfo=None) for k, v in approved.items()}
    summary.write_bytes(_summary(res, lang, board.rows, people, details, local, pending))
    return ExportFiles(parts=parts, summary=summary, reports=reports, too_large=too_large)


async def _versions(
    session: AsyncSession, pending: PendingExport, after: int
) -> list[tuple[int, int, str, bytes, datetime, int, list[object]]]:
    """The next page of latest versions, in submission order, after submission `after`."""
    statement = (
        select_columns(
            col(Submission.id),
            col(Submission.cadre_id),
            col(Cadre.name),
            col(SubmissionVersion.docx),
            col(SubmissionVersion.submitted_at),
            col(SubmissionVersion.characters),
            col(SubmissionVersion.warnings),
        )
        .join(
            SubmissionVersion,
            and_(
                col(SubmissionVersion.submission_id) == col(Submission.id),
                col(SubmissionVersion.number) == col(Submission.version),
            ),
        )
        .join(Cadre, col(Cadre.id) == col(Submission.cadre_id))
        .where(
            col(Submission.team_id) == pending.team_id,
            col(Submission.report_type) == pending.report_type,
            col(Submission.period) == pending.period,
            col(Submission.id) > after,
        )
        .order_by(col(Submission.id))
        .limit(PAGE)
    )
    # Seven columns: more than sqlmodel's typed `select` overloads cover.
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return [
        (int(sid or 0), cid, name, docx, at, chars, list(warnings or []))
        for sid, cid, name, docx, at, chars, warnings in rows
    ]


def _summary(
    res: Resources,
    lang: Language,
    rows: Sequence[Row],
    people: dict[int | None, Cadre],
    details: dict[int, tuple[datetime, int, int]],
    approved: dict[int, datetime],
    pending: PendingExport,
) -> bytes:
    """One line per member: who, where they stand, when, how long, warnings overridden."""
    headers = res.raw(lang, "export_headers").split("|")
    lines: list[list[str | int | datetime | None]] = []
    for row in rows:
        person = people.get(row.cadre_id)
        submitted = details.get(row.cadre_id)
        state = res.t(lang, f"export_state_{row.standing}")
        if row.former:
            state += res.t(lang, "board_former")
        approved_at = approved.get(row.cadre_id) if row.standing is Standing.APPROVED else None
        lines.append(
            [
                row.name,
                person.position if person else "",
                person.organisation if person else "",
                state,
                submitted[0].astimezone(res.zone).replace(tzinfo=None) if submitted else None,
                approved_at,
                submitted[1] if submitted else None,
                submitted[2] if submitted else None,
            ]
        )
    return summary_xlsx(headers, lines, sheet_title=pending.team_name)


def file_replies(files: ExportFiles, res: Resources, lang: str) -> list[Reply]:
    """The export as documents to send: each zip part, then the summary."""
    replies = [
        Reply(document=Attachment(filename=path.name, content=b"", path=path))
        for path in files.parts
    ]
    caption = res.t(lang, "export_done", reports=files.reports, parts=len(files.parts))
    if files.too_large:
        caption += "\n" + res.t(lang, "export_too_large", names="、".join(files.too_large))
    replies.append(
        Reply(
            document=Attachment(
                filename=files.summary.name, content=b"", caption=caption, path=files.summary
            )
        )
    )
    return replies
