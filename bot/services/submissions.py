"""Submitting a report to a team: readiness, the choice of team, the pre-submission review,
and the frozen version with its notifications; and the history of what was submitted.

Submitting freezes the report as it stands (its blocks and the .docx bytes as sent) in a
new version of the person's submission for that team, report type and period; the
interview goes on being editable, and a later Submit sends a new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.render.diff import ChangeLabels, render_changes, section_changes
from bot.render.document import BlockKind, ReportDocument
from bot.render.docx import to_docx
from bot.render.export import docx_filename
from bot.render.messages import escape
from bot.review.rules import Finding, review
from bot.services import drafts, notify, rewriting
from bot.services.access import refused, submission_for_reader
from bot.services.loading import Loaded
from bot.services.replies import Act, Action, Button, Reply, fit_lines, series, shortened
from bot.services.resources import Resources, as_language
from bot.store import reminders as reminder_store
from bot.store import teams as team_store
from bot.store.models import (
    Cadre,
    ReminderKind,
    ReviewDecision,
    Role,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    Team,
)
from bot.store.outbox import undelivered_versions

HISTORY_LIMIT = 10  # submissions shown by /history, newest first
MAX_FINDINGS_SHOWN = 20  # each with its button; the rest are counted
COMMENT_SHOWN = 200  # characters of a comment in a history line


def board_arg(report_type: str, period: str) -> str:
    """The callback argument naming a report type and period: `annual_2026`."""
    return f"{report_type}_{period}"


def parse_board_arg(arg: str) -> tuple[str, str] | None:
    """(report type, period) from `board_arg`, or None if it is not one."""
    report_type, _, period = arg.rpartition("_")
    if not report_type or not period.isdigit():
        return None
    return report_type, period


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def _more(res: Resources, cadre: Cadre) -> str:
    """ "…and {count} more", for a list cut to fit a message."""
    return res.template(cadre.language, "list_more")


def _id(row: Cadre | Team | Submission | SubmissionVersion) -> int:
    assert row.id is not None
    return row.id


# Submitting -------------------------------------------------------------------------------


async def begin(
    session: AsyncSession, res: Resources, cadre: Cadre, loaded: Loaded, now: datetime
) -> list[Reply]:
    """/submit or Submit: check the report is complete, pick the team, review, submit."""
    teams = [
        t
        for t, _ in await team_store.teams_of(
            session=session, cadre_id=_id(cadre), role=Role.MEMBER
        )
    ]
    if not teams:
        return [Reply(_t(res, cadre, "submit_no_team"))]
    report = await _report(session, res, cadre, loaded, now)
    if (incomplete := _incomplete(res, cadre, loaded, report.document)) is not None:
        return [incomplete]
    if len(teams) > 1:
        rows = tuple(
            (
                Button(
                    team.name,
                    Action(
                        Act.SUBMIT_TO,
                        loaded.id,
                        index=_id(team),
                        revision=loaded.interview.revision,
                    ),
                ),
            )
            for team in teams
        )
        return [Reply(_t(res, cadre, "submit_pick_team"), rows)]
    return await _review_or_submit(session, res, cadre, loaded, teams[0], report, now, anyway=False)


async def to_team(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    *,
    team_id: int,
    revision: int | None,
    anyway: bool,
    now: datetime,
) -> list[Reply]:
    """A team was picked, or "submit anyway" pressed: only for the interview as it was when
    the button was shown, and a team the person still belongs to."""
    if revision != loaded.interview.revision:
        return [
            Reply(_t(res, cadre, "submit_stale")),
            *await begin(session, res, cadre, loaded, now),
        ]
    membership = await team_store.membership(session=session, team_id=team_id, cadre_id=_id(cadre))
    team = await session.get(Team, team_id)
    if (
        membership is None
        or membership.left_at is not None
        or membership.role != Role.MEMBER
        or team is None
    ):
        return [refused(res, cadre.language)]
    report = await _report(session, res, cadre, loaded, now)
    if (incomplete := _incomplete(res, cadre, loaded, report.document)) is not None:
        return [incomplete]
    return await _review_or_submit(session, res, cadre, loaded, team, report, now, anyway=anyway)


@dataclass(frozen=True)
class _Report:
    """The report as it would go, and which wording each of its sections is in."""

    document: ReportDocument
    wording: dict[str, str]


async def _report(
    session: AsyncSession, res: Resources, cadre: Cadre, loaded: Loaded, now: datetime
) -> _Report:
    """The report as it would go: each section in the wording the cadre chose."""
    polished = await rewriting.polished_for(
        session, cadre, loaded.interview, loaded.questionnaire, loaded.state
    )
    document = drafts.build_report(
        res,
        loaded.questionnaire,
        cadre=cadre,
        interview=loaded.interview,
        state=loaded.state,
        now=now,
        polished=polished,
    )
    return _Report(document, rewriting.wording_of(loaded.questionnaire, loaded.state, polished))


def _incomplete(
    res: Resources, cadre: Cadre, loaded: Loaded, document: ReportDocument
) -> Reply | None:
    """Unanswered questions, or None when the report can go."""
    missing = [
        q
        for q in loaded.questionnaire.questions
        if not loaded.state.entries(q.id) and q.id not in loaded.state.skipped
    ]
    if not missing and not any(b.kind is BlockKind.MISSING for b in document.blocks):
        return None
    text = _t(
        res,
        cadre,
        "submit_incomplete",
        count=len(missing),
        labels=series(loaded.questionnaire.language, (q.label for q in missing)),
    )
    buttons = tuple((Button(q.label, Action(Act.JUMP, loaded.id, q.id)),) for q in missing[:20])
    return Reply(text, buttons)


async def _review_or_submit(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    team: Team,
    report: _Report,
    now: datetime,
    *,
    anyway: bool,
) -> list[Reply]:
    findings = review(
        res.review,
        loaded.questionnaire,
        answers=loaded.state.answers,
        skipped=loaded.state.skipped,
        document=report.document,
    )
    if findings and not anyway:
        return [_findings(res, cadre, loaded, team, findings)]
    return await _freeze(session, res, cadre, loaded, team, report, findings, now)


def _findings(
    res: Resources, cadre: Cadre, loaded: Loaded, team: Team, findings: Sequence[Finding]
) -> Reply:
    """What a reviewer would return the report for, each with a button to fix its answer."""
    q = loaded.questionnaire
    lines: list[str] = []
    fixes: list[tuple[int, Button]] = []  # (finding number, its Fix button)
    for number, finding in enumerate(findings, start=1):
        label = (
            q.question(finding.question_id).label
            if finding.question_id and q.has(finding.question_id)
            else ""
        )
        lines.append(
            res.raw(
                q.language,
                "review_line",
                number=number,
                label=escape(label) if label else res.t(q.language, "review_whole"),
                message=escape(finding.message),
            )
        )
        if finding.question_id and q.has(finding.question_id):
            if finding.entry is not None and q.question(finding.question_id).multiple:
                action = Action(Act.EDIT_ENTRY, loaded.id, finding.question_id, finding.entry)
            else:
                action = Action(Act.EDIT_QUESTION, loaded.id, finding.question_id)
            label_text = res.raw(q.language, "btn_fix", number=number, label=label)
            fixes.append((number, Button(label_text, action)))
    shown = fit_lines(lines, _more(res, cadre), max_lines=MAX_FINDINGS_SHOWN)
    listed = len(shown) if len(shown) == len(lines) else len(shown) - 1
    rows: list[tuple[Button, ...]] = [(b,) for number, b in fixes if number <= listed]
    lines = [
        _t(res, cadre, "review_header", count=len(findings), team=team.name),
        *shown,
        _t(res, cadre, "review_footer"),
    ]
    anyway = Button(
        _t(res, cadre, "btn_submit_anyway"),
        Action(Act.SUBMIT_ANYWAY, loaded.id, index=_id(team), revision=loaded.interview.revision),
    )
    cancel = Button(_t(res, cadre, "btn_submit_cancel"), Action(Act.SUBMIT_CANCEL, loaded.id))
    rows.append((anyway, cancel))
    return Reply("\n".join(lines), tuple(rows))


async def _freeze(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    team: Team,
    report: _Report,
    findings: Sequence[Finding],
    now: datetime,
) -> list[Reply]:
    """Store the version as sent, and tell every supervisor of the team (outbox)."""
    document = report.document
    interview = loaded.interview
    q = loaded.questionnaire
    body = drafts.body_of(document)
    try:
        docx = to_docx(document)
    except ValueError:
        return [Reply(_t(res, cadre, "submit_docx_failed"))]
    missing = sum(1 for b in document.blocks if b.kind is BlockKind.MISSING)
    draft_version, _ = await drafts.version_of(
        session=session, interview_id=interview.id or 0, body=body, missing=missing, now=now
    )
    submission = (
        await session.exec(
            select(Submission).where(
                col(Submission.team_id) == _id(team),
                col(Submission.cadre_id) == _id(cadre),
                col(Submission.report_type) == interview.report_type,
                col(Submission.period) == interview.period,
            )
        )
    ).first()
    previous: SubmissionVersion | None = None
    if submission is None:
        submission = Submission(
            team_id=_id(team),
            cadre_id=_id(cadre),
            report_type=interview.report_type,
            period=interview.period,
            status=SubmissionStatus.SUBMITTED,
            version=1,
            created_at=now,
            updated_at=now,
        )
    else:
        previous = (
            await session.exec(
                select(SubmissionVersion).where(
                    col(SubmissionVersion.submission_id) == _id(submission),
                    col(SubmissionVersion.number) == submission.version,
                )
            )
        ).first()
        submission.version += 1
        submission.status = SubmissionStatus.SUBMITTED
        submission.updated_at = now
        submission.decided_at = None
        submission.decided_by = None
    cycle = await reminder_store.cycle_for(
        session, team_id=_id(team), report_type=interview.report_type, period=interview.period
    )
    # Late: the first submission came after the deadline (a resubmission keeps its mark).
    late = bool(cycle and cycle.deadline_at and submission.created_at > cycle.deadline_at)
    if submission.cycle_id is None and cycle is not None:
        submission.cycle_id = cycle.id
    if submission.cycle_id is not None:
        # Nothing more to remind them of (the dispatcher checks again before it sends).
        await reminder_store.skip_pending(
            session,
            cycle_id=submission.cycle_id,
            recipient_id=_id(cadre),
            kinds=(ReminderKind.BEFORE, ReminderKind.OVERDUE),
            reason="submitted",
        )
    session.add(submission)
    await session.flush()
    version = SubmissionVersion(
        submission_id=_id(submission),
        number=submission.version,
        interview_id=interview.id,
        draft_version=draft_version,
        language=q.language,
        body=body,
        docx=docx,
        filename=submitted_filename(cadre.name, q.name, interview.period, submission.version),
        characters=characters(document),
        warnings=[
            {"rule": f.rule_id, "question": f.question_id, "message": f.message} for f in findings
        ],
        wording=report.wording,
        submitted_at=now,
    )
    session.add(version)
    await session.flush()
    supervisors = await team_store.people_of(
        session=session, team_id=_id(team), role=Role.SUPERVISOR
    )
    changes_in: dict[str, str] = {}  # the same for every supervisor of a language
    for supervisor, _ in supervisors:
        lang = as_language(supervisor.language, res.default_language)
        report_name = res.catalogue.get(interview.report_type, lang).name
        if lang not in changes_in:
            changes_in[lang] = (
                _changes(res, lang, previous.body, body, previous.number)
                if previous is not None
                else ""
            )
        changes = changes_in[lang]
        notify.submitted(
            session,
            res,
            to=supervisor,
            author=cadre,
            team=team,
            version_id=_id(version),
            number=version.number,
            report_name=report_name,
            period=interview.period,
            board_arg=board_arg(interview.report_type, interview.period),
            changes=changes,
            warnings=[f.message for f in findings],
            others=len(supervisors) > 1,
            late=late,
            now=now,
        )
    key = "submitted_again" if previous is not None else "submitted"
    text = _t(
        res,
        cadre,
        key,
        report=q.name,
        period=interview.period,
        version=version.number,
        team=team.name,
        supervisors=series(cadre.language, (s.name for s, _ in supervisors)),
    )
    return [Reply(text)]


def characters(document: ReportDocument) -> int:
    """The report's length as a reader counts it: every character but spaces."""
    return sum(len("".join(block.text.split())) for block in document.blocks)


def submitted_filename(name: str, report_name: str, period: str, number: int) -> str:
    """`<name>-<report>-<period>-v<n>.docx`, safe on every file system."""
    stem = docx_filename(name, report_name, period).removesuffix(".docx")
    return f"{stem}-v{number}.docx"


def _changes(res: Resources, lang: str, before: str, after: str, number: int) -> str:
    """What changed since the previous version, as a short HTML message."""
    language = as_language(lang, res.default_language)
    messages = res.messages

    def label(key: str) -> str:
        return messages.raw(language, key)

    labels = ChangeLabels(
        heading=messages.raw(language, "changes_heading", version=number),
        opening=label("changes_opening"),
        section_added=label("changes_section_added"),
        section_removed=label("changes_section_removed"),
        before=label("changes_before"),
        after=label("changes_after"),
        added=label("changes_added"),
        removed=label("changes_removed"),
        more=messages.template(language, "changes_more"),  # the diff fills in {count}
        none=label("changes_none"),
    )
    changes = section_changes(before, after, opening=labels.opening)
    return render_changes(changes, labels, limit=3000)


# History ----------------------------------------------------------------------------------


async def history(session: AsyncSession, res: Resources, cadre: Cadre) -> list[Reply]:
    """/history: every submission of the person's own, newest first, with its versions and
    decisions; a supervisor is pointed to the board for their members'."""
    submissions = (
        await session.exec(
            select(Submission)
            .where(col(Submission.cadre_id) == _id(cadre))
            .order_by(col(Submission.updated_at).desc(), col(Submission.id).desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    parts: list[str] = []
    buttons: list[tuple[Button, ...]] = []
    for submission in submissions:
        team = await session.get(Team, submission.team_id)
        if team is None:
            continue
        parts.append(await _story(session, res, cadre, submission, team))
    if not parts:
        parts.append(_t(res, cadre, "history_none"))
    if await team_store.teams_of(session=session, cadre_id=_id(cadre), role=Role.SUPERVISOR):
        parts.append(_t(res, cadre, "history_supervisor_hint"))
        buttons.append((Button(_t(res, cadre, "btn_teams"), Action(Act.TEAMS)),))
    return [Reply("\n\n".join(fit_lines(parts, _more(res, cadre))), tuple(buttons))]


async def history_of(
    session: AsyncSession, res: Resources, cadre: Cadre, submission_id: int
) -> list[Reply]:
    """One submission's history, for its author or a supervisor of its team."""
    found = await submission_for_reader(
        session=session, cadre_id=_id(cadre), submission_id=submission_id
    )
    if found is None:
        return [refused(res, cadre.language)]
    submission, team = found
    story = await _story(session, res, cadre, submission, team)
    return [Reply("\n".join(fit_lines(story.split("\n"), _more(res, cadre))))]


async def _story(
    session: AsyncSession, res: Resources, cadre: Cadre, submission: Submission, team: Team
) -> str:
    """A submission's versions and decisions in order, with who and when."""
    lang = as_language(cadre.language, res.default_language)
    versions = (
        await session.exec(
            select(
                SubmissionVersion.id,
                SubmissionVersion.number,
                SubmissionVersion.submitted_at,
                SubmissionVersion.warnings,
            )
            .where(col(SubmissionVersion.submission_id) == _id(submission))
            .order_by(col(SubmissionVersion.number))
        )
    ).all()
    decisions = (
        await session.exec(
            select(ReviewDecision)
            .where(col(ReviewDecision.submission_id) == _id(submission))
            .order_by(col(ReviewDecision.version))
        )
    ).all()
    people = await team_store.names(
        session=session,
        cadre_ids=[
            submission.cadre_id,
            *(d.decided_by for d in decisions if d.decided_by is not None),
        ],
    )
    undelivered = await undelivered_versions(
        session=session, version_ids=[v[0] for v in versions if v[0] is not None]
    )
    undelivered_names = await team_store.names(
        session=session, cadre_ids=sorted({r for rs in undelivered.values() for r in rs})
    )
    author = people.get(submission.cadre_id, "")
    report_name = res.catalogue.get(submission.report_type, lang).name
    membership = await team_store.membership(
        session=session, team_id=_id(team), cadre_id=submission.cadre_id
    )
    former = membership is None or membership.left_at is not None
    lines = [
        res.t(
            lang,
            "history_title_former" if former else "history_title",
            name=author,
            report=report_name,
            period=submission.period,
            team=team.name,
            status=res.t(lang, f"state_{submission.status}"),
        )
    ]
    # In the order things happen: each version, then the decision on it.
    events: list[tuple[int, int, str]] = []
    for version_id, number, submitted_at, warnings in versions:
        line = res.t(lang, "history_submitted", when=_when(res, submitted_at), version=number)
        if warnings:
            line += res.t(lang, "history_overridden", count=len(warnings))
        for recipient in undelivered.get(version_id or 0, []):
            line += res.t(lang, "history_undelivered", name=undelivered_names.get(recipient, "?"))
        events.append((number, 0, line))
    for decision in decisions:
        who = people.get(decision.decided_by or 0) or res.t(lang, "former_supervisor")
        if decision.decision == "approved":
            line = res.t(
                lang,
                "history_approved",
                when=_when(res, decision.decided_at),
                version=decision.version,
                by=who,
            )
        else:
            line = res.t(
                lang,
                "history_returned",
                when=_when(res, decision.decided_at),
                version=decision.version,
                by=who,
                comment=shortened(decision.comment, COMMENT_SHOWN),
            )
        events.append((decision.version, 1, line))
    lines += [line for _, _, line in sorted(events)]
    return "\n".join(lines)


def _when(res: Resources, moment: datetime) -> str:
    return moment.astimezone(res.zone).strftime("%Y-%m-%d %H:%M")


async def count_submissions(session: AsyncSession, cadre_id: int) -> int:
    """How many submissions a person has made (to any team)."""
    statement = select(func.count()).where(col(Submission.cadre_id) == cadre_id)
    return int((await session.exec(statement)).one())
