"""The supervisor's status board: for one team, report type and period, where every member
stands (not started / in progress / submitted / returned / approved), and each member's
latest submitted version on request. The board reads only what supervisors may see: the
progress of an interview (sections done), never its answers, and submitted versions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.questionnaire import Questionnaire
from bot.render.chat import to_chat_messages
from bot.services.access import Reviewed, refused
from bot.services.drafts import document_of
from bot.services.loading import asked_with
from bot.services.replies import Act, Action, Button, Reply, series, shortened
from bot.services.resources import Resources, as_language
from bot.services.reviews import version_reply
from bot.services.submissions import board_arg, parse_board_arg
from bot.store.models import (
    Answer,
    Cadre,
    Interview,
    InterviewStatus,
    Membership,
    Role,
    Submission,
    SubmissionVersion,
    Team,
)

PAGE = 20  # members per board message (one button each)


class Standing(StrEnum):
    """Where a member stands for the board's report type and period."""

    SUBMITTED = "submitted"
    RETURNED = "returned"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"
    APPROVED = "approved"


# The order the board lists members in: what needs the supervisor first.
_ORDER = {s: i for i, s in enumerate(Standing)}


@dataclass(frozen=True)
class Row:
    """One member's line on the board."""

    cadre_id: int
    name: str
    standing: Standing
    sections_done: int = 0
    version: int = 0
    former: bool = False
    unreachable: bool = False
    membership_id: int = 0  # what the member's button names


@dataclass(frozen=True)
class Board:
    """Every member's row for one team, report type and period."""

    team: Team
    report_type: str
    period: str
    rows: tuple[Row, ...]
    unreachable_supervisors: tuple[str, ...] = ()  # blocked the bot: submissions miss them

    def count(self, standing: Standing) -> int:
        """How many members stand there."""
        return sum(1 for row in self.rows if row.standing is standing)


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def period_of(now: datetime, res: Resources) -> str:
    """The period a report written now covers (as interviews reckon it)."""
    local = now.astimezone(res.zone)
    return str(local.year if local.month > 3 else local.year - 1)


async def picker(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """Which report type and period to show: the current period's types, and every type
    and period the team has submissions for. One choice is shown at once."""
    lang = as_language(cadre.language, res.default_language)
    types = [q.report_type for q in res.catalogue.report_types(lang)]
    current = period_of(now, res)
    found: list[tuple[str, str]] = [
        (report_type, period)
        for report_type, period in (
            await session.exec(
                select(Submission.report_type, Submission.period)
                .where(col(Submission.team_id) == team.id)
                .distinct()
            )
        ).all()
    ]
    options = sorted(
        {(t, current) for t in types} | {(t, p) for t, p in found if t in types},
        key=lambda option: (-int(option[1]), types.index(option[0])),
    )
    with_data = [o for o in options if o in set(found)]
    if len(with_data) == 1 and len(found) == 1:
        return await board(session, res, cadre, team, board_arg(*with_data[0]), 0)
    rows = tuple(
        (
            Button(
                res.raw(lang, "board_option", report=res.catalogue.get(t, lang).name, period=p),
                Action(Act.BOARD, team.id or 0, board_arg(t, p), 0),
            ),
        )
        for t, p in options[:12]
    )
    back = (Button(_t(res, cadre, "btn_back_team"), Action(Act.TEAM, team.id or 0)),)
    return [Reply(_t(res, cadre, "board_pick", team=team.name), (*rows, back))]


async def load_board(
    session: AsyncSession, res: Resources, team: Team, report_type: str, period: str
) -> Board:
    """Every current member, and every former one with a submission, with their standing."""
    assert team.id is not None
    columns = (Cadre.id, Cadre.name, Cadre.blocked_at, Membership.left_at, Membership.id)
    people = (
        await session.exec(
            select_columns(*(col(c) for c in columns))  # five: past sqlmodel's typed select
            .join(Membership, col(Membership.cadre_id) == col(Cadre.id))
            .where(col(Membership.team_id) == team.id, col(Membership.role) == Role.MEMBER)
        )  # type: ignore[call-overload]
    ).all()
    submissions = {
        s.cadre_id: s
        for s in (
            await session.exec(
                select(Submission).where(
                    col(Submission.team_id) == team.id,
                    col(Submission.report_type) == report_type,
                    col(Submission.period) == period,
                )
            )
        ).all()
    }
    interviews = await _interviews(session, res, team.id, report_type, period)
    # Progress is shown only for members who have not submitted: count only theirs.
    writing = {cadre: found for cadre, found in interviews.items() if cadre not in submissions}
    done = await sections_done(session, writing)
    rows: list[Row] = []
    for cadre_id, name, blocked_at, left_at, membership_id in people:
        assert cadre_id is not None and membership_id is not None
        submission = submissions.get(cadre_id)
        former = left_at is not None
        if former and submission is None:
            continue
        unreachable = blocked_at is not None
        if submission is not None:
            rows.append(
                Row(
                    cadre_id,
                    name,
                    Standing(submission.status),
                    version=submission.version,
                    former=former,
                    unreachable=unreachable,
                    membership_id=membership_id,
                )
            )
        elif cadre_id in interviews:
            rows.append(
                Row(
                    cadre_id,
                    name,
                    Standing.IN_PROGRESS,
                    sections_done=done.get(cadre_id, 0),
                    unreachable=unreachable,
                    membership_id=membership_id,
                )
            )
        else:
            rows.append(
                Row(
                    cadre_id,
                    name,
                    Standing.NOT_STARTED,
                    unreachable=unreachable,
                    membership_id=membership_id,
                )
            )
    rows.sort(key=lambda r: (_ORDER[r.standing], r.former, r.name, r.cadre_id))
    blocked = (
        await session.exec(
            select(Cadre.name)
            .join(Membership, col(Membership.cadre_id) == col(Cadre.id))
            .where(
                col(Membership.team_id) == team.id,
                col(Membership.role) == Role.SUPERVISOR,
                col(Membership.left_at).is_(None),
                col(Cadre.blocked_at).is_not(None),
            )
        )
    ).all()
    return Board(team, report_type, period, tuple(rows), tuple(blocked))


async def _interviews(
    session: AsyncSession, res: Resources, team_id: int, report_type: str, period: str
) -> dict[int, tuple[int, Questionnaire, list[str]]]:
    """Each current member's newest interview of the type and period: (id, the
    questionnaire it is asked with, skipped question ids)."""
    columns = (
        Interview.id,
        Interview.cadre_id,
        Interview.language,
        Interview.skipped,
        Interview.status,
        Interview.questionnaire_version,
    )
    statement = (
        select_columns(*(col(c) for c in columns))
        .join(
            Membership,
            and_(
                col(Membership.cadre_id) == col(Interview.cadre_id),
                col(Membership.team_id) == team_id,
                col(Membership.role) == Role.MEMBER,
                col(Membership.left_at).is_(None),
            ),
        )
        .where(
            col(Interview.report_type) == report_type,
            col(Interview.period) == period,
            col(Interview.status) != InterviewStatus.ABANDONED,
        )
        .order_by(col(Interview.id))
    )
    found: dict[int, tuple[int, Questionnaire, list[str]]] = {}
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    for interview_id, cadre_id, language, skipped, status, version in rows:
        assert interview_id is not None
        questionnaire = asked_with(
            res, report_type=report_type, language=language, status=status, version=version
        )
        found[cadre_id] = (interview_id, questionnaire, list(skipped or []))
    return found


async def sections_done(
    session: AsyncSession, interviews: dict[int, tuple[int, Questionnaire, list[str]]]
) -> dict[int, int]:
    """Sections whose every question is answered or skipped, per member (of the
    questionnaire each interview is asked with)."""
    if not interviews:
        return {}
    by_interview = {interview_id: cadre_id for cadre_id, (interview_id, _, _) in interviews.items()}
    answered: dict[int, set[str]] = defaultdict(set)
    statement = (
        select(Answer.interview_id, Answer.question_id)
        .where(col(Answer.interview_id).in_(list(by_interview)))
        .group_by(col(Answer.interview_id), col(Answer.question_id))
    )
    for interview_id, question_id in (await session.exec(statement)).all():
        answered[interview_id].add(question_id)
    done: dict[int, int] = {}
    for cadre_id, (interview_id, questionnaire, skipped) in interviews.items():
        settled = answered[interview_id] | set(skipped)
        done[cadre_id] = sum(
            1
            for section in questionnaire.sections
            if all(q.id in settled for q in section.questions)
        )
    return done


async def board(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, arg: str, page: int
) -> list[Reply]:
    """The board message: counts at the top, a line per member, a button per member."""
    parsed = parse_board_arg(arg)
    lang = as_language(cadre.language, res.default_language)
    if parsed is None or (parsed[0], lang) not in res.catalogue.by_key:
        return [refused(res, cadre.language)]
    report_type, period = parsed
    questionnaire = res.catalogue.get(report_type, lang)
    loaded = await load_board(session, res, team, report_type, period)
    return [board_message(res, cadre, loaded, questionnaire, page)]


def board_message(
    res: Resources, cadre: Cadre, loaded: Board, questionnaire: Questionnaire, page: int
) -> Reply:
    """The board as one message (a page of members at a time)."""
    lang = questionnaire.language
    team_id = loaded.team.id or 0
    arg = board_arg(loaded.report_type, loaded.period)
    pages = max(1, (len(loaded.rows) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    lines = [
        res.t(
            lang,
            "board_title",
            team=loaded.team.name,
            report=questionnaire.name,
            period=loaded.period,
        ),
        res.t(
            lang,
            "board_counts",
            total=len(loaded.rows),
            not_started=loaded.count(Standing.NOT_STARTED),
            in_progress=loaded.count(Standing.IN_PROGRESS),
            submitted=loaded.count(Standing.SUBMITTED),
            returned=loaded.count(Standing.RETURNED),
            approved=loaded.count(Standing.APPROVED),
        ),
    ]
    if loaded.unreachable_supervisors:
        names = series(lang, loaded.unreachable_supervisors, width=24, total=300)
        lines.append(res.t(lang, "team_unreachable", names=names))
    lines.append("")
    if not loaded.rows:
        lines.append(res.t(lang, "board_empty"))
    shown = loaded.rows[page * PAGE : (page + 1) * PAGE]
    member_buttons: list[Button] = []
    sections = len(questionnaire.sections)
    for number, row in enumerate(shown, start=page * PAGE + 1):
        if row.standing is Standing.IN_PROGRESS:
            state = res.t(lang, "standing_in_progress", done=row.sections_done, total=sections)
        elif row.standing is Standing.NOT_STARTED:
            state = res.t(lang, "standing_not_started")
        else:
            state = res.t(lang, f"standing_{row.standing}", version=row.version)
        marks = ""
        if row.former:
            marks += res.t(lang, "board_former")
        if row.unreachable:
            marks += res.t(lang, "board_unreachable")
        name = shortened(row.name, 24)
        lines.append(res.t(lang, "board_line", number=number, name=name, state=state) + marks)
        member_buttons.append(
            Button(
                res.raw(lang, "btn_board_member", number=number, name=shortened(row.name, 12)),
                Action(Act.MEMBER, team_id, arg, row.membership_id),
            )
        )
    if pages > 1:
        lines += ["", res.t(lang, "board_page", page=page + 1, pages=pages)]
    rows: list[tuple[Button, ...]] = [
        tuple(member_buttons[i : i + 4]) for i in range(0, len(member_buttons), 4)
    ]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(res.t(lang, "btn_page_prev"), Action(Act.BOARD, team_id, arg, page - 1)))
    if page < pages - 1:
        nav.append(Button(res.t(lang, "btn_page_next"), Action(Act.BOARD, team_id, arg, page + 1)))
    if nav:
        rows.append(tuple(nav))
    rows.append(
        (
            Button(res.t(lang, "btn_export"), Action(Act.EXPORT, team_id, arg)),
            Button(res.t(lang, "btn_board_other"), Action(Act.BOARD, team_id)),
            Button(res.t(lang, "btn_back_team"), Action(Act.TEAM, team_id)),
        )
    )
    return Reply("\n".join(lines), tuple(rows))


async def member(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, arg: str, member_id: int
) -> list[Reply]:
    """A member's latest submitted version of the board's report: the text and the .docx
    as sent. Someone who never belonged to the team is refused like a missing target."""
    parsed = parse_board_arg(arg)
    # The button names the membership (its ids are never reused), current or former.
    row = await session.get(Membership, member_id)
    if row is None or row.team_id != team.id or row.role != Role.MEMBER:
        return [refused(res, cadre.language)]
    person = await session.get(Cadre, row.cadre_id)
    if parsed is None or person is None:
        return [refused(res, cadre.language)]
    report_type, period = parsed
    submission = (
        await session.exec(
            select(Submission).where(
                col(Submission.team_id) == team.id,
                col(Submission.cadre_id) == row.cadre_id,
                col(Submission.report_type) == report_type,
                col(Submission.period) == period,
            )
        )
    ).first()
    lang = as_language(cadre.language, res.default_language)
    if (report_type, lang) not in res.catalogue.by_key:
        return [refused(res, cadre.language)]
    report_name = res.catalogue.get(report_type, lang).name
    if submission is None:
        # Imported here: the cycles module reads the board for its own page.
        from bot.services.cycles import exempt_button

        excuse = await exempt_button(
            session, res, cadre, team, report_type, period, member_id, row.cadre_id
        )
        text = _t(res, cadre, "member_nothing", name=person.name, report=report_name, period=period)
        return [Reply(text, ((excuse,),) if excuse is not None and row.left_at is None else ())]
    version = (
        await session.exec(
            select(SubmissionVersion).where(
                col(SubmissionVersion.submission_id) == submission.id,
                col(SubmissionVersion.number) == submission.version,
            )
        )
    ).first()
    if version is None:
        return [refused(res, cadre.language)]
    document = document_of(version.body, as_language(version.language, res.default_language))
    lead = _t(res, cadre, "member_lead", name=person.name, version=version.number)
    texts = [Reply(chunk, standalone=True) for chunk in to_chat_messages(document, lead=lead)]
    return [
        *texts,
        await version_reply(session, res, cadre, Reviewed(version, submission, team), decide=True),
    ]
