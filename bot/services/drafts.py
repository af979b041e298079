"""Assemble a draft: render the template, store it as a new version, deliver chat + .docx."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.engine import State
from bot.interview.questionnaire import Questionnaire
from bot.render.chat import to_chat_messages
from bot.render.document import BlockKind, ReportDocument
from bot.render.docx import to_docx
from bot.render.report import Author, render_report
from bot.services.replies import Attachment, Reply
from bot.services.resources import Resources
from bot.store.models import Cadre, Draft, Interview
from bot.store.queries import next_draft_version

log = logging.getLogger(__name__)
_UNSAFE_FILENAME = re.compile(r"[^\w\-]+", re.UNICODE)


def build_report(
    res: Resources,
    questionnaire: Questionnaire,
    *,
    cadre: Cadre,
    interview: Interview,
    state: State,
    now: datetime,
) -> ReportDocument:
    """The report of an interview as it stands, missing answers marked."""
    return render_report(
        res.templates,
        questionnaire,
        answers=state.answers,
        skipped=state.skipped,
        author=Author(name=cadre.name, position=cadre.position, organisation=cadre.organisation),
        period=interview.period,
        today=now.astimezone(res.zone).date(),
    )


def draft_filename(cadre: Cadre, questionnaire: Questionnaire, version: int) -> str:
    """A file name a person recognises: name, report, version."""
    stem = _UNSAFE_FILENAME.sub("_", f"{cadre.name}_{questionnaire.name}_v{version}").strip("_")
    return f"{stem or 'report'}.docx"


@dataclass(frozen=True)
class PendingDraft:
    """A draft stored in the transaction, to be laid out (chat + .docx) after it commits,
    so the write lock is not held while a Word file is built."""

    questionnaire: Questionnaire
    cadre: Cadre
    document: ReportDocument
    version: int
    missing: int


async def assemble(
    *,
    session: AsyncSession,
    res: Resources,
    questionnaire: Questionnaire,
    cadre: Cadre,
    interview: Interview,
    state: State,
    now: datetime,
) -> PendingDraft:
    """Store a new draft version in the caller's transaction."""
    document = build_report(
        res, questionnaire, cadre=cadre, interview=interview, state=state, now=now
    )
    missing = sum(1 for block in document.blocks if block.kind is BlockKind.MISSING)
    assert interview.id is not None
    version = await next_draft_version(session=session, interview_id=interview.id)
    session.add(
        Draft(
            interview_id=interview.id,
            version=version,
            body=_as_text(document),
            missing=missing,
            created_at=now,
        )
    )
    return PendingDraft(questionnaire, cadre, document, version, missing)


def lay_out(res: Resources, replies: Sequence[Reply | PendingDraft]) -> list[Reply]:
    """Replies as they are sent: each pending draft becomes its messages and document."""
    out: list[Reply] = []
    for reply in replies:
        if isinstance(reply, PendingDraft):
            out += delivery(
                res,
                reply.questionnaire,
                reply.cadre,
                reply.document,
                version=reply.version,
                missing=reply.missing,
            )
        else:
            out.append(reply)
    return out


def delivery(
    res: Resources,
    questionnaire: Questionnaire,
    cadre: Cadre,
    document: ReportDocument,
    *,
    version: int,
    missing: int,
) -> list[Reply]:
    """A header, the report as chat messages, and the .docx."""
    lang = questionnaire.language
    header = res.t(lang, "draft_header", report=questionnaire.name, version=version)
    if missing:
        header += "\n" + res.t(lang, "draft_missing", count=missing)
    replies = [Reply(header)]
    replies.extend(Reply(chunk) for chunk in to_chat_messages(document))
    try:
        content = to_docx(document)
    except ValueError:
        # The chat draft is already worth having; a Word file we cannot build must not
        # take it down too. The draft is stored, so the file can be made once fixed.
        log.exception("could not build the .docx of draft version %s", version)
        replies.append(Reply(res.t(lang, "docx_failed")))
        return replies
    caption = res.messages.raw(lang, "draft_caption", report=questionnaire.name, version=version)
    filename = draft_filename(cadre, questionnaire, version)
    replies.append(Reply(document=Attachment(filename=filename, content=content, caption=caption)))
    return replies


def _as_text(document: ReportDocument) -> str:
    """The draft as stored: its blocks as JSON, enough to lay it out again."""
    return json.dumps(
        [{"kind": b.kind, "text": b.text} for b in document.blocks], ensure_ascii=False
    )
