"""Assemble a draft: render the template, store it as a new version, deliver chat + .docx.

A draft identical to the newest stored version is not stored or sent again: the cadre is
told nothing changed since that version, with a button for its .docx.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.engine import State
from bot.interview.questionnaire import Language, Questionnaire
from bot.render.chat import TELEGRAM_LIMIT, to_chat_messages, utf16_len
from bot.render.document import Block, BlockKind, ReportDocument
from bot.render.docx import to_docx
from bot.render.report import Author, render_report
from bot.services import rewriting
from bot.services.replies import (
    MESSAGE_SEPARATOR,
    Act,
    Action,
    Attachment,
    Button,
    PendingExport,
    Reply,
    merged,
)
from bot.services.resources import Resources
from bot.store.models import Cadre, Draft, Interview, Role
from bot.store.queries import latest_draft
from bot.store.teams import teams_of

log = logging.getLogger(__name__)
_UNSAFE_FILENAME = re.compile(r"[^\w\-]+", re.UNICODE)
# What leads into a draft ("all questions are done") opens its first message if it is no
# longer than this; a longer text keeps a message of its own.
LEAD_LIMIT = TELEGRAM_LIMIT // 4


def build_report(
    res: Resources,
    questionnaire: Questionnaire,
    *,
    cadre: Cadre,
    interview: Interview,
    state: State,
    now: datetime,
    polished: Mapping[str, str] | None = None,
) -> ReportDocument:
    """The report of an interview as it stands, missing answers marked; the sections in
    `polished` in their rewritten wording."""
    return render_report(
        res.templates,
        questionnaire,
        answers=state.answers,
        skipped=state.skipped,
        author=Author(name=cadre.name, position=cadre.position, organisation=cadre.organisation),
        period=interview.period,
        today=now.astimezone(res.zone).date(),
        polished=polished,
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
    file_only: bool = False  # an unchanged version's .docx, sent again on request
    # The interview to submit, when the report is complete and its author is in a team:
    # the .docx then comes with a Submit button.
    submit: int | None = None
    # The interview whose wording may be polished (an endpoint is configured): a button.
    polish: int | None = None


async def assemble(
    *,
    session: AsyncSession,
    res: Resources,
    questionnaire: Questionnaire,
    cadre: Cadre,
    interview: Interview,
    state: State,
    now: datetime,
    resend: bool = False,
) -> PendingDraft | Reply:
    """Store a new draft version in the caller's transaction, unless the draft is the same
    as the newest version: then say so (or, with `resend`, send that version's .docx)."""
    polished = await rewriting.polished_for(session, cadre, interview, questionnaire, state)
    document = build_report(
        res,
        questionnaire,
        cadre=cadre,
        interview=interview,
        state=state,
        now=now,
        polished=polished,
    )
    missing = sum(1 for block in document.blocks if block.kind is BlockKind.MISSING)
    body = body_of(document)
    assert interview.id is not None and cadre.id is not None
    submit = None
    if not missing and await teams_of(session=session, cadre_id=cadre.id, role=Role.MEMBER):
        submit = interview.id
    polish = interview.id if rewriting.can_polish(res, questionnaire, state) else None
    version, new = await version_of(
        session=session, interview_id=interview.id, body=body, missing=missing, now=now
    )
    if not new:
        if resend:
            return PendingDraft(
                questionnaire,
                cadre,
                document,
                version,
                missing,
                file_only=True,
                submit=submit,
                polish=polish,
            )
        return unchanged(res, questionnaire, interview.id, version, polish=polish)
    return PendingDraft(
        questionnaire, cadre, document, version, missing, submit=submit, polish=polish
    )


async def version_of(
    *, session: AsyncSession, interview_id: int, body: str, missing: int, now: datetime
) -> tuple[int, bool]:
    """The draft version holding this body: the newest stored one if it is the same
    (False), else a new version, stored in the caller's transaction (True)."""
    latest = await latest_draft(session=session, interview_id=interview_id)
    if latest is not None and latest.body == body:
        return latest.version, False
    version = latest.version + 1 if latest is not None else 1
    session.add(
        Draft(
            interview_id=interview_id, version=version, body=body, missing=missing, created_at=now
        )
    )
    return version, True


def unchanged(
    res: Resources,
    questionnaire: Questionnaire,
    interview_id: int,
    version: int,
    *,
    polish: int | None = None,
) -> Reply:
    """Nothing changed since a stored version: say which, offer its .docx again (and the
    polishing, where offered)."""
    lang = questionnaire.language
    again = Button(res.t(lang, "btn_draft_file"), Action(Act.DRAFT_FILE, interview_id))
    rows: tuple[tuple[Button, ...], ...] = ((again,),)
    if polish is not None:
        rows += ((rewriting.polish_button(res, lang, polish),),)
    return Reply(res.t(lang, "draft_unchanged", version=version), rows)


def lay_out(res: Resources, replies: Sequence[Reply | PendingDraft | PendingExport]) -> list[Reply]:
    """Replies as they are sent: each pending draft becomes its messages and document, and
    consecutive texts share a message where they fit. (An export is sent by the adapter
    after these, once built.)"""
    out: list[Reply] = []
    for reply in replies:
        if isinstance(reply, PendingExport):
            continue
        if isinstance(reply, PendingDraft) and reply.file_only:
            out += _file(
                res,
                reply.questionnaire,
                reply.cadre,
                reply.document,
                reply.version,
                submit=reply.submit,
                polish=reply.polish,
            )
        elif isinstance(reply, PendingDraft):
            out = merged(out)
            last = out[-1] if out else None
            lead = ""
            if (
                last is not None
                and last.document is None
                and not last.buttons
                and utf16_len(last.text) <= LEAD_LIMIT
            ):
                lead = out.pop().text
            out += delivery(
                res,
                reply.questionnaire,
                reply.cadre,
                reply.document,
                version=reply.version,
                missing=reply.missing,
                lead=lead,
                submit=reply.submit,
                polish=reply.polish,
            )
        else:
            out.append(reply)
    return merged(out)


def delivery(
    res: Resources,
    questionnaire: Questionnaire,
    cadre: Cadre,
    document: ReportDocument,
    *,
    version: int,
    missing: int,
    lead: str = "",
    submit: int | None = None,
    polish: int | None = None,
) -> list[Reply]:
    """A header, the report as chat messages, and the .docx (with a Submit button for the
    interview `submit`). The header (after `lead`, a short text to be read first) opens
    the first message when the report's beginning fits."""
    lang = questionnaire.language
    header = res.t(lang, "draft_header", report=questionnaire.name, version=version)
    if missing:
        header += "\n" + res.t(lang, "draft_missing", count=missing)
    if lead:
        header = lead + MESSAGE_SEPARATOR + header
    chunks = to_chat_messages(document, lead=header)
    return [
        *(Reply(chunk) for chunk in chunks),
        *_file(res, questionnaire, cadre, document, version, submit=submit, polish=polish),
    ]


def _file(
    res: Resources,
    questionnaire: Questionnaire,
    cadre: Cadre,
    document: ReportDocument,
    version: int,
    *,
    submit: int | None = None,
    polish: int | None = None,
) -> list[Reply]:
    """The .docx of a version (with a Submit button for the interview `submit`, a Polish
    button for the interview `polish`), or a notice that it could not be made."""
    lang = questionnaire.language
    try:
        content = to_docx(document)
    except ValueError:
        # The chat draft is already worth having; a Word file we cannot build must not
        # take it down too. The draft is stored, so the file can be made once fixed.
        log.exception("could not build the .docx of draft version %s", version)
        return [Reply(res.t(lang, "docx_failed"))]
    caption = res.messages.raw(lang, "draft_caption", report=questionnaire.name, version=version)
    filename = draft_filename(cadre, questionnaire, version)
    buttons: tuple[tuple[Button, ...], ...] = ()
    if submit is not None:
        buttons += ((Button(res.t(lang, "btn_submit"), Action(Act.SUBMIT, submit)),),)
    if polish is not None:
        buttons += ((rewriting.polish_button(res, lang, polish),),)
    attachment = Attachment(filename=filename, content=content, caption=caption)
    return [Reply(buttons=buttons, document=attachment)]


def body_of(document: ReportDocument) -> str:
    """The draft as stored: its blocks as JSON, enough to lay it out again."""
    return json.dumps(
        [{"kind": b.kind, "text": b.text} for b in document.blocks], ensure_ascii=False
    )


def document_of(body: str, language: Language) -> ReportDocument:
    """A stored body (see `body_of`) as a report document again, to show it as it was."""
    blocks = tuple(Block(BlockKind(b["kind"]), str(b["text"])) for b in json.loads(body))
    title = next((b.text for b in blocks if b.kind is BlockKind.TITLE), "")
    return ReportDocument(language=language, title=title, blocks=blocks)
