"""The review loop: a supervisor opens a submitted version, approves it, or returns it with
a comment. The first decision on a version wins: it is a conditional update of the
submission, so two supervisors deciding at the same moment record exactly one decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.input import Rejected, Rejection, clean_text
from bot.render.chat import utf16_len
from bot.services import notify
from bot.services.access import Reviewed, refused, version_for_reader, version_for_supervisor
from bot.services.notify import CAPTION_FIELD
from bot.services.replies import Act, Action, Attachment, Button, Reply, shortened
from bot.services.resources import Resources, as_language
from bot.store.models import (
    Cadre,
    CommentPrompt,
    Decision,
    ReviewDecision,
    Submission,
    SubmissionStatus,
)
from bot.store.teams import names

AWAIT_COMMENT = "comment:"
# A comment is sent to the author inside one message (with the report's name and what to
# do next), and Telegram takes 4,096 characters.
COMMENT_LIMIT = 3000


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def _id(cadre: Cadre) -> int:
    assert cadre.id is not None
    return cadre.id


async def open_version(
    session: AsyncSession, res: Resources, cadre: Cadre, version_id: int
) -> list[Reply]:
    """A submitted version's .docx (the stored bytes), for its author or a supervisor; a
    supervisor gets Approve / Return while it awaits a decision."""
    found = await version_for_reader(session=session, cadre_id=_id(cadre), version_id=version_id)
    if found is None:
        return [refused(res, cadre.language)]
    reviewed, supervises = found
    return [await version_reply(session, res, cadre, reviewed, decide=supervises)]


async def version_reply(
    session: AsyncSession, res: Resources, reader: Cadre, reviewed: Reviewed, *, decide: bool
) -> Reply:
    """The document of a version with a caption: who, what, which version, where it stands."""
    version, submission = reviewed.version, reviewed.submission
    lang = as_language(reader.language, res.default_language)
    author = await session.get(Cadre, submission.cadre_id)
    report_name = res.catalogue.get(submission.report_type, lang).name
    caption = res.t(
        lang,
        "notify_submitted",
        name=shortened(author.name, CAPTION_FIELD) if author else "",
        position=shortened(author.position, CAPTION_FIELD) if author else "",
        organisation=shortened(author.organisation, CAPTION_FIELD) if author else "",
        report=report_name,
        period=submission.period,
        version=version.number,
        team=reviewed.team.name,
    )
    latest = version.number == submission.version
    state = (
        res.t(lang, f"state_{submission.status}")
        if latest
        else res.t(lang, "state_superseded", version=submission.version)
    )
    caption += "\n" + res.t(lang, "caption_state", state=state)
    rows: list[tuple[Button, ...]] = []
    if decide and latest and submission.status == SubmissionStatus.SUBMITTED:
        rows.append(
            (
                Button(res.t(lang, "btn_approve"), Action(Act.APPROVE, version.id or 0)),
                Button(res.t(lang, "btn_return"), Action(Act.RETURN, version.id or 0)),
            )
        )
    rows.append((Button(res.t(lang, "btn_history"), Action(Act.HISTORY, submission.id or 0)),))
    return Reply(
        buttons=tuple(rows),
        document=Attachment(
            filename=version.filename or "report.docx", content=version.docx, caption=caption
        ),
    )


async def _undecidable(
    session: AsyncSession, res: Resources, cadre: Cadre, reviewed: Reviewed
) -> Reply | None:
    """Why this version can no longer be decided (a newer one came, or a decision was
    taken), or None."""
    submission, version = reviewed.submission, reviewed.version
    if version.number != submission.version:
        return Reply(
            _t(res, cadre, "review_superseded", version=version.number, latest=submission.version)
        )
    if submission.status != SubmissionStatus.SUBMITTED:
        return await _already_decided(session, res, cadre, reviewed)
    return None


async def _already_decided(
    session: AsyncSession, res: Resources, cadre: Cadre, reviewed: Reviewed
) -> Reply:
    decision = (
        await session.exec(
            select(ReviewDecision).where(
                col(ReviewDecision.submission_id) == reviewed.submission.id,
                col(ReviewDecision.version) == reviewed.version.number,
            )
        )
    ).first()
    if decision is None:  # decided, then a newer version came and went: say where it is
        return Reply(
            _t(
                res,
                cadre,
                "review_superseded",
                version=reviewed.version.number,
                latest=reviewed.submission.version,
            )
        )
    who = (await names(session=session, cadre_ids=[decision.decided_by or 0])).get(
        decision.decided_by or 0
    )
    key = "already_approved" if decision.decision == Decision.APPROVED else "already_returned"
    by = who or res.t(cadre.language, "former_supervisor")
    if decision.decided_by == cadre.id:
        by = res.t(cadre.language, "you")
    return Reply(
        _t(
            res,
            cadre,
            key,
            by=by,
            when=decision.decided_at.astimezone(res.zone).strftime("%Y-%m-%d %H:%M"),
        )
    )


async def _decide(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    reviewed: Reviewed,
    decision: Decision,
    comment: str,
    now: datetime,
) -> Reply | None:
    """Record the decision if nobody has decided this version yet; None if someone has."""
    submission, version = reviewed.submission, reviewed.version
    status = (
        SubmissionStatus.APPROVED if decision == Decision.APPROVED else SubmissionStatus.RETURNED
    )
    result = await session.exec(
        update(Submission)
        .where(
            col(Submission.id) == submission.id,
            col(Submission.status) == SubmissionStatus.SUBMITTED,
            col(Submission.version) == version.number,
        )
        .values(status=status, decided_at=now, decided_by=_id(cadre), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return None
    assert submission.id is not None
    session.add(
        ReviewDecision(
            submission_id=submission.id,
            version=version.number,
            decision=decision,
            comment=comment,
            decided_by=_id(cadre),
            decided_at=now,
        )
    )
    author = await session.get(Cadre, submission.cadre_id)
    if author is not None:
        lang = as_language(author.language, res.default_language)
        notify.decided(
            session,
            res,
            to=author,
            by=cadre,
            approved=decision == Decision.APPROVED,
            comment=comment,
            report_name=res.catalogue.get(submission.report_type, lang).name,
            period=submission.period,
            number=version.number,
            interview_id=version.interview_id,
            now=now,
        )
    return Reply(
        _t(
            res,
            cadre,
            "approved_done" if decision == Decision.APPROVED else "returned_done",
            name=author.name if author else "",
            version=version.number,
        )
    )


async def approve(
    session: AsyncSession, res: Resources, cadre: Cadre, version_id: int, now: datetime
) -> list[Reply]:
    """Approve the version; the author is told. A second decision is told who decided."""
    reviewed = await version_for_supervisor(
        session=session, cadre_id=_id(cadre), version_id=version_id
    )
    if reviewed is None:
        return [refused(res, cadre.language)]
    if (reason := await _undecidable(session, res, cadre, reviewed)) is not None:
        return [reason]
    done = await _decide(session, res, cadre, reviewed, Decision.APPROVED, "", now)
    if done is None:  # another supervisor's decision committed in between
        return [await _already_decided(session, res, cadre, reviewed)]
    return [done]


async def ask_comment(
    session: AsyncSession, res: Resources, cadre: Cadre, version_id: int
) -> list[Reply]:
    """Return: ask for the comment. The next text (or a reply to this prompt) is it."""
    reviewed = await version_for_supervisor(
        session=session, cadre_id=_id(cadre), version_id=version_id
    )
    if reviewed is None:
        return [refused(res, cadre.language)]
    if (reason := await _undecidable(session, res, cadre, reviewed)) is not None:
        return [reason]
    author = await session.get(Cadre, reviewed.submission.cadre_id)
    cadre.awaiting_input = f"{AWAIT_COMMENT}{version_id}"
    cadre.awaiting_field = None
    text = _t(
        res,
        cadre,
        "comment_ask",
        name=author.name if author else "",
        version=reviewed.version.number,
    )
    return [Reply(text, force_reply=_t(res, cadre, "comment_placeholder"), comment_on=version_id)]


async def comment(
    session: AsyncSession, res: Resources, cadre: Cadre, version_id: int, raw: str, now: datetime
) -> list[Reply]:
    """The comment of a return: recorded with the decision, sent to the author."""
    reviewed = await version_for_supervisor(
        session=session, cadre_id=_id(cadre), version_id=version_id
    )
    if reviewed is None:
        cadre.awaiting_input = None
        return [refused(res, cadre.language)]
    cleaned = clean_text(raw, limit=COMMENT_LIMIT)
    if not isinstance(cleaned, Rejected) and utf16_len(cleaned) > COMMENT_LIMIT:
        # Telegram counts UTF-16 units: an emoji is two.
        cleaned = Rejected(Rejection.TOO_LONG, utf16_len(cleaned))
    if isinstance(cleaned, Rejected):
        cadre.awaiting_input = f"{AWAIT_COMMENT}{version_id}"
        if cleaned.reason is Rejection.EMPTY:
            key_text = _t(res, cadre, "comment_empty")
        else:
            key_text = _t(
                res,
                cadre,
                "comment_too_long",
                length=f"{cleaned.length:,}",
                limit=f"{COMMENT_LIMIT:,}",
            )
        return [
            Reply(
                key_text, force_reply=_t(res, cadre, "comment_placeholder"), comment_on=version_id
            )
        ]
    cadre.awaiting_input = None
    if (reason := await _undecidable(session, res, cadre, reviewed)) is not None:
        return [Reply(_t(res, cadre, "comment_not_sent")), reason]
    done = await _decide(session, res, cadre, reviewed, Decision.RETURNED, cleaned.strip(), now)
    if done is None:
        return [
            Reply(_t(res, cadre, "comment_not_sent")),
            await _already_decided(session, res, cadre, reviewed),
        ]
    return [done]


def comment_target(cadre: Cadre) -> int | None:
    """The version the person's next text comments on, if they pressed Return."""
    mark = cadre.awaiting_input or ""
    if not mark.startswith(AWAIT_COMMENT):
        return None
    number = mark.removeprefix(AWAIT_COMMENT)
    return int(number) if number.isdigit() else None


async def prompted_version(session: AsyncSession, *, chat_id: int, message_id: int) -> int | None:
    """The version a comment prompt (one of our messages) was about."""
    prompt = await session.get(CommentPrompt, (chat_id, message_id))
    return None if prompt is None else prompt.version_id


async def remember_prompt(
    session: AsyncSession, *, chat_id: int, message_id: int, version_id: int, now: datetime
) -> None:
    """Note a sent comment prompt, so that a reply to it is taken as the comment."""
    session.add(
        CommentPrompt(chat_id=chat_id, message_id=message_id, version_id=version_id, created_at=now)
    )
    await session.commit()
