"""Messages to other people, as outbox rows in the caller's transaction: written in the
recipient's language when the event happens, sent later by the background sender.

A row's payload (JSON) holds what the sender needs and nothing it has to look up but the
.docx of a version:
    text      HTML message (sent before the document, or alone with the buttons)
    document  true: attach the version's stored .docx, with `caption` and the buttons
    buttons   [[{label, act, target, arg, index}]]
    summary   one HTML line for a digest, when several wait for the same person
    open      {"version", "label"}: a digest's button to get that version's .docx
    board     {"team", "arg", "label"}: a digest's button to the team's board
    unreachable  {"recipient", "text"}: whom to tell, and what, if this cannot be delivered
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.render.chat import utf16_len
from bot.render.messages import escape
from bot.services.replies import TEXT_BUDGET, Act, Action, Button, fit_lines, shortened
from bot.services.resources import Resources, as_language
from bot.store.models import Cadre, Role, Team
from bot.store.outbox import enqueue

CAPTION_FIELD = 80  # characters of a name, post or organisation in a document's caption


def button_payload(rows: Sequence[Sequence[Button]]) -> list[list[dict[str, Any]]]:
    """Button rows as JSON."""
    return [
        [
            {
                "label": b.label,
                "act": b.action.act.value,
                "target": b.action.target,
                "arg": b.action.arg,
                "index": b.action.index,
            }
            for b in row
        ]
        for row in rows
    ]


def buttons_from(payload: Any) -> tuple[tuple[Button, ...], ...]:
    """Button rows back from JSON (rows of an act this version no longer has are dropped)."""
    rows: list[tuple[Button, ...]] = []
    for row in payload or []:
        buttons: list[Button] = []
        for b in row:
            try:
                act = Act(b["act"])
            except ValueError:
                continue
            buttons.append(
                Button(
                    str(b["label"]), Action(act, int(b["target"]), str(b["arg"]), int(b["index"]))
                )
            )
        if buttons:
            rows.append(tuple(buttons))
    return tuple(rows)


def _lang(res: Resources, person: Cadre) -> str:
    return as_language(person.language, res.default_language)


def _simple(
    session: AsyncSession,
    res: Resources,
    to: Cadre,
    kind: str,
    key: str,
    now: datetime,
    about: Cadre | None,
    **params: str | int,
) -> None:
    assert to.id is not None
    text = res.t(_lang(res, to), key, **params)
    enqueue(
        session,
        recipient_id=to.id,
        kind=kind,
        payload={"text": text, "summary": text},
        now=now,
        about_id=about.id if about is not None else None,
    )


def joined(
    session: AsyncSession,
    res: Resources,
    *,
    to: Cadre,
    who: Cadre,
    team: Team,
    role: Role,
    now: datetime,
) -> None:
    """A supervisor is told that someone joined their team."""
    key = "notify_joined_supervisor" if role == Role.SUPERVISOR else "notify_joined"
    _simple(
        session,
        res,
        to,
        "joined",
        key,
        now,
        who,
        name=who.name,
        position=who.position,
        organisation=who.organisation,
        team=team.name,
    )


def left(
    session: AsyncSession, res: Resources, *, to: Cadre, who: Cadre, team: Team, now: datetime
) -> None:
    """A supervisor is told that someone left their team."""
    _simple(session, res, to, "left", "notify_left", now, who, name=who.name, team=team.name)


def forgotten(
    session: AsyncSession, res: Resources, *, to: Cadre, who: Cadre, team: Team, now: datetime
) -> None:
    """A supervisor is told that a member deleted their data (and so left)."""
    # About nobody: it is what tells the supervisor, and goes with the other delivered rows.
    _simple(session, res, to, "left", "notify_forgotten", now, None, name=who.name, team=team.name)


def removed(
    session: AsyncSession, res: Resources, *, to: Cadre, team: Team, by: Cadre, now: datetime
) -> None:
    """A member is told they were removed from a team."""
    _simple(session, res, to, "removed", "notify_removed", now, by, team=team.name, by=by.name)


def promoted(
    session: AsyncSession, res: Resources, *, to: Cadre, team: Team, by: Cadre, now: datetime
) -> None:
    """A member is told they now supervise a team."""
    _simple(session, res, to, "promoted", "notify_promoted", now, by, team=team.name, by=by.name)


def team_deleted(
    session: AsyncSession, res: Resources, *, to: Cadre, team: Team, by: Cadre, now: datetime
) -> None:
    """Everyone in a team is told it was deleted."""
    _simple(
        session, res, to, "team_deleted", "notify_team_deleted", now, by, team=team.name, by=by.name
    )


def submitted(
    session: AsyncSession,
    res: Resources,
    *,
    to: Cadre,
    author: Cadre,
    team: Team,
    version_id: int,
    number: int,
    report_name: str,
    period: str,
    board_arg: str,
    changes: str,
    warnings: Sequence[str],
    others: bool,
    now: datetime,
    late: bool = False,
) -> None:
    """A supervisor receives a submitted version: who, what, the .docx, Approve / Return;
    for a later version, what changed since the one before; whether it came late."""
    assert to.id is not None and author.id is not None
    lang = _lang(res, to)
    parts: list[str] = [res.t(lang, "notify_late")] if late else []
    if changes:
        parts.append(changes)
    if warnings:
        # With the changes, within one message: what does not fit is counted.
        room = max(TEXT_BUDGET - utf16_len(changes) - 200, 300)
        listed = fit_lines(
            [res.t(lang, "warning_line", message=w) for w in warnings],
            res.template(lang, "list_more"),
            limit=room,
        )
        parts.append(res.raw(lang, "notify_warnings", count=len(warnings), lines="\n".join(listed)))
    caption = res.t(
        lang,
        "notify_submitted",
        # A caption holds 1,024 characters: each field cut short enough to fit.
        name=shortened(author.name, CAPTION_FIELD),
        position=shortened(author.position, CAPTION_FIELD),
        organisation=shortened(author.organisation, CAPTION_FIELD),
        report=report_name,
        period=period,
        version=number,
        team=team.name,
    )
    summary = res.t(
        lang,
        "digest_submitted",
        name=author.name,
        report=report_name,
        period=period,
        version=number,
        team=team.name,
    )
    buttons = (
        (
            Button(res.t(lang, "btn_approve"), Action(Act.APPROVE, version_id)),
            Button(res.t(lang, "btn_return"), Action(Act.RETURN, version_id)),
        ),
    )
    author_lang = _lang(res, author)
    payload: dict[str, Any] = {
        "document": True,
        "caption": caption,
        "buttons": button_payload(buttons),
        "summary": summary,
        "open": {"version": version_id, "label": author.name},
        "board": {
            "team": team.id,
            "arg": board_arg,
            # A button's label is plain text, not HTML: nothing to escape.
            "label": res.raw(
                lang, "btn_board_of", team=team.name, report=report_name, period=period
            ),
        },
        "unreachable": {
            "recipient": author.id,
            "text": res.t(
                author_lang,
                "notify_unreachable" if others else "notify_unreachable_only",
                name=to.name,
                team=team.name,
            ),
        },
    }
    if parts:
        payload["text"] = "\n\n".join(parts)
    enqueue(
        session,
        recipient_id=to.id,
        kind="submitted",
        payload=payload,
        now=now,
        version_id=version_id,
        about_id=author.id,
    )


def decided(
    session: AsyncSession,
    res: Resources,
    *,
    to: Cadre,
    by: Cadre,
    approved: bool,
    comment: str,
    report_name: str,
    period: str,
    number: int,
    interview_id: int | None,
    now: datetime,
) -> None:
    """The author is told of the decision: approved, or returned with the comment and the
    way to revise and submit again."""
    assert to.id is not None
    lang = _lang(res, to)
    if approved:
        text = res.t(
            lang, "notify_approved", by=by.name, report=report_name, period=period, version=number
        )
        buttons: tuple[tuple[Button, ...], ...] = ()
    else:
        text = res.raw(
            lang,
            "notify_returned",
            by=escape(by.name),
            report=escape(report_name),
            period=escape(period),
            version=number,
            comment=escape(comment),
        )
        buttons = (
            (
                Button(res.t(lang, "btn_edit_answers"), Action(Act.EDIT_LIST, interview_id or 0)),
                Button(res.t(lang, "btn_submit_again"), Action(Act.SUBMIT, interview_id or 0)),
            ),
        )
    payload = {"text": text, "buttons": button_payload(buttons), "summary": text}
    enqueue(session, recipient_id=to.id, kind="decided", payload=payload, now=now, about_id=by.id)
