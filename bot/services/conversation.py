"""The cadre's use cases. Each call is one transaction: claim the update, lock the cadre,
apply the change, commit, and only then return the replies to show.

A call returns `Out` items: replies, and drafts that `drafts.lay_out` turns into messages and
a .docx once the session is closed, so no database lock is held while a Word file is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview import engine
from bot.interview.engine import State, Status
from bot.interview.input import Rejected, Rejection, clean_text
from bot.services import (
    cycles,
    deadlines,
    drafts,
    forget,
    registration,
    reviews,
    rewriting,
    submissions,
    supervision,
    teams,
)
from bot.services.access import refused
from bot.services.drafts import PendingDraft
from bot.services.loading import Loaded, connection_of, forget_connection, load, remember
from bot.services.people import Person
from bot.services.present import Presenter
from bot.services.replies import Act, Action, Button, PendingExport, Reply
from bot.services.resources import Resources, as_language
from bot.store.models import Cadre, Interview, InterviewStatus
from bot.store.queries import (
    cadre_by_user,
    cadre_with_interview,
    claim_update,
    save_entries,
    store_interview_state,
    write_changes,
)

# A draft is laid out, and an export built, once the transaction has committed.
Out = Reply | PendingDraft | PendingExport


class Command(StrEnum):
    """Commands a cadre can send at any point."""

    START = "start"
    HELP = "help"
    STATUS = "status"
    EDIT = "edit"
    DRAFT = "draft"
    CANCEL = "cancel"
    RESTART = "restart"
    NEW = "new"
    PROFILE = "profile"
    SUBMIT = "submit"
    HISTORY = "history"
    TEAM = "team"
    NEWTEAM = "newteam"
    NEWCYCLE = "newcycle"
    DEADLINES = "deadlines"
    TIMEZONE = "timezone"
    AWAY = "away"
    FORGET_ME = "forget_me"


class _Duplicate(Exception):
    """The update was applied before."""


# Entry points -----------------------------------------------------------------------------


async def start(
    session: AsyncSession,
    *,
    res: Resources,
    person: Person,
    update_id: int | None,
    now: datetime,
    payload: str = "",
) -> Sequence[Out]:
    """/start: register a newcomer, or continue wherever the cadre is; `/start <code>` (an
    invite link) leads to the team's join confirmation, after registration if need be."""
    return await command(
        session,
        res=res,
        person=person,
        update_id=update_id,
        command=Command.START,
        now=now,
        args=payload,
    )


async def text(
    session: AsyncSession,
    *,
    res: Resources,
    person: Person,
    update_id: int | None,
    text: str,
    now: datetime,
    reply_to: int | None = None,
) -> Sequence[Out]:
    """The person typed a message: a comment they owe as a supervisor (a reply to our
    comment prompt, or the next text after Return), a team's name, a profile field, an
    answer, or a way back in. `reply_to` is the message it replies to, if any."""

    async def act(cadre: Cadre) -> Sequence[Out]:
        if cadre.registered and reply_to is not None:
            version = await reviews.prompted_version(
                session, chat_id=person.chat_id, message_id=reply_to
            )
            if version is not None:
                return await reviews.comment(session, res, cadre, version, text, now)
        if cadre.registered and (owed := await supervision.typed(session, res, cadre, text, now)):
            return owed
        if cadre.awaiting_field is None:
            return await _answer(session, res, cadre, text, now)
        replies, finished = registration.save_field(res, cadre, text, now)
        if not finished:
            return replies
        joining = await teams.pending_join(session, res, cadre)
        return [*replies, *(joining or _type_picker(res, cadre))]

    return await _unit_of_work(session, res, person, update_id, now, act)


async def press(
    session: AsyncSession,
    *,
    res: Resources,
    person: Person,
    update_id: int | None,
    action: Action,
    now: datetime,
) -> Sequence[Out]:
    """The cadre pressed a button; its action is re-checked against what the cadre owns."""

    async def act(cadre: Cadre) -> Sequence[Out]:
        return await _press(session, res, cadre, action, now)

    return await _unit_of_work(session, res, person, update_id, now, act)


async def command(
    session: AsyncSession,
    *,
    res: Resources,
    person: Person,
    update_id: int | None,
    command: Command,
    now: datetime,
    args: str = "",
) -> Sequence[Out]:
    """A command (with what followed it, `args`); none of them loses the cadre's place in
    the interview. Any command cancels an input the person owed (a comment, a name)."""

    async def act(cadre: Cadre) -> Sequence[Out]:
        if command is Command.HELP:
            help_text = Reply(res.t(cadre.language, "help", limit=res.answer_limit))
            return [help_text, *(await _where(session, res, cadre))]
        if command is Command.START and args and not cadre.registered:
            return await _invite_before_registration(session, res, cadre, args)
        if not cadre.registered:
            unfinished = Reply(res.t(cadre.language, "finish_registration"))
            return [unfinished, *registration.prompt(res, cadre)]
        if cadre.awaiting_input is not None:
            cadre.awaiting_input = None
            if command is Command.CANCEL:
                return [Reply(res.t(cadre.language, "input_cancelled"))]
        if command is Command.START and args:
            cadre.awaiting_field = None
            return await teams.offer_join(session, res, cadre, args)
        return await _command(session, res, cadre, command, now, args)

    async def newcomer() -> Sequence[Out]:
        if command is Command.START and args:
            return await _register_invited(session, res, person, args, now)
        return await _register(session, res, person, now)

    return await _unit_of_work(session, res, person, update_id, now, act, newcomer)


async def where(session: AsyncSession, *, res: Resources, person: Person) -> Sequence[Out]:
    """Where the cadre stands, changing nothing (used after input that is not text)."""
    try:
        cadre = await cadre_by_user(session=session, telegram_user_id=person.user_id, lock=False)
        if cadre is None:
            return []
        return await _where(session, res, cadre)
    finally:
        forget_connection(session)


# Steps ------------------------------------------------------------------------------------


async def _unit_of_work(
    session: AsyncSession,
    res: Resources,
    person: Person,
    update_id: int | None,
    now: datetime,
    act: Callable[[Cadre], Awaitable[Sequence[Out]]],
    newcomer: Callable[[], Awaitable[Sequence[Out]]] | None = None,
) -> Sequence[Out]:
    """Claim the update and lock the cadre, act (a newcomer is registered), commit."""
    try:
        cadre, interview = await _begin(session, res, person, update_id, now)
    except _Duplicate:
        return await _replay(session, res, person)
    try:
        if cadre is not None:
            replies = await act(cadre)
        elif newcomer is not None:
            replies = await newcomer()
        else:
            replies = await _register(session, res, person, now)
        # The loaded rows are in no session (plain rows, decision 61): what the step
        # changed on them is written here; what it added to the session, by the commit.
        await write_changes(connection=await connection_of(session), rows=(cadre, interview))
        await session.commit()
    finally:
        forget_connection(session)  # the transaction's, gone with it
    return replies


async def _begin(
    session: AsyncSession, res: Resources, person: Person, update_id: int | None, now: datetime
) -> tuple[Cadre | None, Interview | None]:
    connection = await connection_of(session)
    if update_id is not None and not await claim_update(
        connection=connection, update_id=update_id, now=now
    ):
        forget_connection(session)
        await session.rollback()
        raise _Duplicate
    cadre, interview = await cadre_with_interview(
        connection=connection, telegram_user_id=person.user_id
    )
    remember(session, interview)
    if cadre is not None and (cadre.blocked_at is not None or cadre.chat_id != person.chat_id):
        cadre.blocked_at = None  # they wrote to us, so they can receive again
        cadre.chat_id = person.chat_id
    return cadre, interview


async def _replay(session: AsyncSession, res: Resources, person: Person) -> Sequence[Out]:
    """A redelivered update: apply nothing, show where the cadre is (the first reply may
    have been lost with the process that applied it)."""
    return await where(session, res=res, person=person)


async def _register(
    session: AsyncSession,
    res: Resources,
    person: Person,
    now: datetime,
    *,
    invite: str | None = None,
) -> Sequence[Out]:
    """A newcomer: their row, registration's first step; with the invite they opened kept
    for the join confirmation once registered."""
    cadre = registration.new_cadre(
        res,
        user_id=person.user_id,
        chat_id=person.chat_id,
        language_code=person.language_code,
        now=now,
    )
    cadre.pending_invite = invite
    session.add(cadre)
    noted = [Reply(res.t(cadre.language, "invite_noted"))] if invite else []
    return [*noted, *registration.welcome(res, cadre)]


async def _register_invited(
    session: AsyncSession, res: Resources, person: Person, code: str, now: datetime
) -> Sequence[Out]:
    """A stranger opened an invite link: a code that works starts registration with the
    invite kept on their row (the join is confirmed once registered); one that does not is
    refused and creates nothing."""
    if await teams.usable_invite(session, code) is None:
        language = as_language(person.language_code, res.default_language)
        return [Reply(res.t(language, "invite_invalid_newcomer"))]
    return await _register(session, res, person, now, invite=code)


async def _invite_before_registration(
    session: AsyncSession, res: Resources, cadre: Cadre, code: str
) -> Sequence[Out]:
    """An invite link opened during registration: kept, confirmed once registered."""
    if await teams.usable_invite(session, code) is None:
        return [Reply(res.t(cadre.language, "invite_invalid")), *registration.prompt(res, cadre)]
    cadre.pending_invite = code
    return [Reply(res.t(cadre.language, "invite_noted")), *registration.prompt(res, cadre)]


async def _answer(
    session: AsyncSession, res: Resources, cadre: Cadre, raw: str, now: datetime
) -> Sequence[Out]:
    loaded = await load(session, res, cadre)
    if loaded is None:
        return _type_picker(res, cadre)
    cleaned = clean_text(raw, limit=res.answer_limit)
    if isinstance(cleaned, Rejected):
        lang = loaded.questionnaire.language
        if cleaned.reason is Rejection.EMPTY:
            notice = res.t(lang, "empty_text")
        else:
            notice = res.t(
                lang, "too_long", length=f"{cleaned.length:,}", limit=f"{res.answer_limit:,}"
            )
        return [
            Reply(notice),
            *_present(
                res,
                loaded,
                _step(res, loaded, engine.Where()).outputs,
                resumed=False,
            ),
        ]
    return await _apply(session, res, cadre, loaded, engine.Text(cleaned), now)


async def _press(
    session: AsyncSession, res: Resources, cadre: Cadre, action: Action, now: datetime
) -> Sequence[Out]:
    act = action.act
    if act is Act.LANGUAGE:
        return registration.choose_language(res, cadre, action.arg, now)
    if not cadre.registered:
        return registration.prompt(res, cadre)
    if act is Act.PROFILE:
        return registration.ask_to_change(res, cadre, action.arg)
    if cadre.awaiting_field is not None:
        cadre.awaiting_field = None  # as with commands, another button ends a /profile change
    if cadre.awaiting_input is not None:
        # Likewise an owed comment or name: what the bot shows next is what the next text
        # does. (Only when set: every assignment is a column written on the hot path.)
        cadre.awaiting_input = None
    if act in supervision.SUPERVISION_ACTS:
        replies = await supervision.press(session, res, cadre, action, now)
        if act in (Act.JOIN, Act.JOIN_NO) and await load(session, res, cadre) is None:
            # Just registered through an invite: what to write is the next question.
            return [*replies, *_type_picker(res, cadre)]
        return replies
    if act is Act.FORGET:
        return await forget.forget(session, res, cadre, now)
    if act is Act.FORGET_NO:
        return [Reply(res.t(cadre.language, "forget_kept"))]
    if act is Act.REPORT_TYPE:
        return await _begin_report(session, res, cadre, action.arg, now)
    if act is Act.CYCLE_GO:
        return await _cycle_interview(session, res, cadre, action.target, now)
    if act is Act.NEW:
        return await _command(session, res, cadre, Command.NEW, now)
    loaded = await load(session, res, cadre)
    if loaded is None or action.target != loaded.id:
        # Not this cadre's current interview: an old message, or someone else's data.
        stale = Reply(res.t(cadre.language, "stale_button"))
        return [stale, *(await _where(session, res, cadre))]
    return await _interview_action(session, res, cadre, loaded, action, now)


async def _interview_action(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    action: Action,
    now: datetime,
) -> Sequence[Out]:
    qid = action.arg
    q = loaded.questionnaire
    events: dict[Act, engine.Event] = {
        Act.NEXT: engine.Next(qid),
        Act.SKIP: engine.Skip(qid),
        Act.BACK: engine.Back(qid),
        Act.KEEP: engine.KeepAsIs(qid),
        Act.JUMP: engine.Jump(qid),
        Act.EDIT_CANCEL: engine.EditCancel(),
        Act.RESTART_NO: engine.Where(),
    }
    match action.act:
        case act if act in events:
            return await _apply(session, res, cadre, loaded, events[act], now)
        case Act.EDIT_QUESTION if q.has(qid) and q.question(qid).multiple:
            return [_presenter(res, loaded).entry_list(qid)]
        case Act.EDIT_QUESTION:
            return await _apply(session, res, cadre, loaded, engine.EditPick(qid, None), now)
        case Act.EDIT_ENTRY:
            return await _apply(
                session, res, cadre, loaded, engine.EditPick(qid, action.index), now
            )
        case Act.RESTART if action.revision != loaded.interview.revision:
            # Asked about another state of the interview: the cadre has moved on since.
            return [
                Reply(res.t(cadre.language, "stale_button")),
                *(await _where(session, res, cadre)),
            ]
        case Act.RESTART:
            loaded.interview.status = InterviewStatus.ABANDONED
            loaded.interview.updated_at = now
            remember(session, None)
            return [Reply(res.t(cadre.language, "restarted")), *_type_picker(res, cadre)]
        case Act.DRAFT:
            return await _draft(session, res, cadre, loaded, now)
        case Act.DRAFT_FILE:
            return await _draft(session, res, cadre, loaded, now, resend=True)
        case Act.EDIT_LIST:
            return [_presenter(res, loaded).edit_list()]
        case Act.SUBMIT:
            return await submissions.begin(session, res, cadre, loaded, now)
        case Act.SUBMIT_TO | Act.SUBMIT_ANYWAY:
            return await submissions.to_team(
                session,
                res,
                cadre,
                loaded,
                team_id=action.index,
                revision=action.revision,
                anyway=action.act is Act.SUBMIT_ANYWAY,
                now=now,
            )
        case Act.SUBMIT_CANCEL:
            return [Reply(res.t(cadre.language, "submit_cancelled"))]
        case Act.POLISH:
            return await rewriting.start(session, res, cadre, loaded, now)
        case Act.WORDING if action.index in (0, 1):
            return await rewriting.choose(
                session, res, cadre, loaded, section_id=qid, polished=action.index == 1
            )
    return [Reply(res.t(cadre.language, "stale_button")), *(await _where(session, res, cadre))]


async def _command(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    command: Command,
    now: datetime,
    args: str = "",
) -> Sequence[Out]:
    if cadre.awaiting_field is not None:
        # A command ends a pending /profile change: the next text is taken as whatever the
        # command shows next (the interview's question), never as the field.
        cadre.awaiting_field = None
        if command is Command.CANCEL:
            return [Reply(res.t(cadre.language, "profile_cancelled"))]
    if command is Command.PROFILE:
        return [registration.profile(res, cadre)]
    match command:
        case Command.TEAM:
            return await teams.overview(session, res, cadre)
        case Command.NEWTEAM:
            return await teams.new_team(session, res, cadre, args, now)
        case Command.HISTORY:
            return await submissions.history(session, res, cadre)
        case Command.NEWCYCLE:
            return await cycles.new_cycle_command(session, res, cadre, now)
        case Command.DEADLINES:
            return await deadlines.overview(session, res, cadre, now)
        case Command.TIMEZONE:
            return await deadlines.timezone(session, res, cadre, args, now)
        case Command.AWAY:
            return await deadlines.away(session, res, cadre, args, now)
        case Command.FORGET_ME:
            return await forget.ask(session, res, cadre)
    loaded = await load(session, res, cadre)
    if loaded is None:
        if command in (Command.START, Command.NEW, Command.RESTART):
            return _type_picker(res, cadre)
        return [Reply(res.t(cadre.language, "no_interview")), *_type_picker(res, cadre)]
    presenter = _presenter(res, loaded)
    match command:
        case Command.START:
            return await _apply(session, res, cadre, loaded, engine.Resume(), now)
        case Command.CANCEL:
            return await _apply(session, res, cadre, loaded, engine.Pause(), now)
        case Command.STATUS:
            return [presenter.status(_status_key(loaded.state.status), loaded.interview.period)]
        case Command.EDIT:
            return [presenter.edit_list()]
        case Command.DRAFT:
            return await _draft(session, res, cadre, loaded, now)
        case Command.SUBMIT:
            return await submissions.begin(session, res, cadre, loaded, now)
        case Command.NEW if loaded.state.status is Status.COMPLETED:
            return _type_picker(res, cadre)
        case Command.RESTART | Command.NEW:
            return [_restart_confirmation(presenter, loaded)]
    raise AssertionError(f"unhandled command {command}")  # pragma: no cover


async def _cycle_interview(
    session: AsyncSession, res: Resources, cadre: Cadre, cycle_id: int, now: datetime
) -> Sequence[Out]:
    """A cycle's button: its interview resumed at the next unanswered question, or begun
    (of the cycle's report type and period) if the person has none under way."""
    found = await deadlines.member_cycle(session, cadre, cycle_id)
    if found is None:
        return [refused(res, cadre.language)]
    cycle, _ = found
    loaded = await load(session, res, cadre)
    if (
        loaded is not None
        and loaded.interview.report_type == cycle.report_type
        and loaded.interview.period == cycle.period
    ):
        replies = await _apply(session, res, cadre, loaded, engine.Resume(), now)
    else:
        replies = await _begin_report(
            session, res, cadre, cycle.report_type, now, period=cycle.period
        )
    # Below the cycle's message, not in its place: what it asks and by when stays in view.
    return [_standalone(r) for r in replies]


def _standalone(reply: Out) -> Out:
    return replace(reply, standalone=True) if isinstance(reply, Reply) else reply


async def _begin_report(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    report_type: str,
    now: datetime,
    *,
    period: str | None = None,
) -> Sequence[Out]:
    existing = await load(session, res, cadre)
    if existing is not None and existing.state.status is not Status.COMPLETED:
        text = res.t(cadre.language, "unfinished_exists", report=existing.questionnaire.name)
        return [Reply(text), *(await _where(session, res, cadre))]
    language = as_language(cadre.language, res.default_language)
    try:
        questionnaire = res.catalogue.get(report_type, language)
    except KeyError:
        return [Reply(res.t(language, "unknown_report_type")), *_type_picker(res, cadre)]
    assert cadre.id is not None
    if period is None:
        # A report a cycle of the person's team asks for is written for that cycle's period
        # (opened in March for last year's, say), not for the calendar's.
        period = await deadlines.cycle_period(session, cadre, report_type)
    period = period or _period(now.astimezone(res.zone))
    interview = Interview(
        cadre_id=cadre.id,
        report_type=report_type,
        language=language,
        period=period,
        status=InterviewStatus.ACTIVE,
        current_question=questionnaire.first(),
        questionnaire_version=questionnaire.version,
        started_at=now,
        updated_at=now,
    )
    session.add(interview)
    await session.flush()
    remember(session, interview)
    loaded = Loaded(interview, questionnaire, engine.initial_state(questionnaire))
    intro = res.t(
        language,
        "report_started",
        report=questionnaire.name,
        period=interview.period,
        total=len(questionnaire.questions),
        sections=len(questionnaire.sections),
    )
    return [Reply(intro), *_present(res, loaded, (engine.Ask(questionnaire.first()),))]


def _step(res: Resources, loaded: Loaded, event: engine.Event) -> engine.Transition:
    """The engine's transition for an event, following answers up on the review's rules."""
    checks = res.checks_for(loaded.questionnaire)
    return engine.step(loaded.questionnaire, loaded.state, event, checks=checks)


async def _apply(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    event: engine.Event,
    now: datetime,
) -> Sequence[Out]:
    """Run the engine, store the new state and changed answers, present the outputs."""
    transition = _step(res, loaded, event)
    interview = loaded.interview
    assert interview.id is not None
    for question_id in transition.changed:
        await save_entries(
            connection=await connection_of(session),
            interview_id=interview.id,
            question_id=question_id,
            before=loaded.state.entries(question_id),
            after=transition.state.entries(question_id),
            now=now,
        )
    if transition.state != loaded.state:
        await _store_state(session, interview, transition.state, now)
    loaded = replace(loaded, state=transition.state)
    replies: list[Out] = [*_present(res, loaded, transition.outputs)]
    if any(isinstance(o, engine.Finished) for o in transition.outputs):
        interview.completed_at = now
        replies.append(
            await drafts.assemble(
                session=session,
                res=res,
                questionnaire=loaded.questionnaire,
                cadre=cadre,
                interview=interview,
                state=loaded.state,
                now=now,
            )
        )
    return replies


async def _draft(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    now: datetime,
    *,
    resend: bool = False,
) -> Sequence[Out]:
    return [
        await drafts.assemble(
            session=session,
            res=res,
            questionnaire=loaded.questionnaire,
            cadre=cadre,
            interview=loaded.interview,
            state=loaded.state,
            now=now,
            resend=resend,
        )
    ]


async def _where(session: AsyncSession, res: Resources, cadre: Cadre) -> Sequence[Out]:
    if not cadre.registered or cadre.awaiting_field is not None:
        return registration.prompt(res, cadre)
    if cadre.awaiting_input is not None and (owed := supervision.owed_prompt(res, cadre)):
        return owed
    loaded = await load(session, res, cadre)
    if loaded is None:
        return _type_picker(res, cadre)
    transition = _step(res, loaded, engine.Where())
    return _present(res, loaded, transition.outputs, resumed=False)


# Loading and storing ----------------------------------------------------------------------


async def _store_state(
    session: AsyncSession, interview: Interview, state: State, now: datetime
) -> None:
    await store_interview_state(
        connection=await connection_of(session),
        interview=interview,
        status=InterviewStatus(state.status.value),
        current_question=state.current,
        awaiting_follow_up=state.awaiting_follow_up,
        editing_question=state.editing[0] if state.editing else None,
        editing_entry=state.editing[1] if state.editing else None,
        return_to=state.return_to,
        skipped=sorted(state.skipped),
        now=now,
    )


# Presentation -----------------------------------------------------------------------------


def _presenter(res: Resources, loaded: Loaded) -> Presenter:
    return Presenter(res, loaded.questionnaire, loaded.id, loaded.state)


def _present(
    res: Resources, loaded: Loaded, outputs: tuple[engine.Output, ...], *, resumed: bool = True
) -> list[Reply]:
    if not resumed:
        outputs = tuple(
            o for o in outputs if not (isinstance(o, engine.Notice) and o.key == "resumed")
        )
    return _presenter(res, loaded).render(outputs)


def _type_picker(res: Resources, cadre: Cadre) -> list[Reply]:
    language = as_language(cadre.language, res.default_language)
    types = res.catalogue.report_types(language)
    lines = [res.t(language, "choose_report_type")]
    lines += [
        res.t(language, "report_type_line", name=q.name, description=q.description) for q in types
    ]
    buttons = tuple((Button(q.name, Action(Act.REPORT_TYPE, arg=q.report_type)),) for q in types)
    return [Reply("\n".join(lines), buttons)]


def _restart_confirmation(presenter: Presenter, loaded: Loaded) -> Reply:
    """Start over? Yes acts only while the interview is as it was when asked."""
    yes = Button(
        presenter.t("btn_restart_yes"),
        Action(Act.RESTART, loaded.id, revision=loaded.interview.revision),
    )
    return Reply(
        presenter.t("restart_confirm"),
        (
            (
                yes,
                presenter.button("btn_restart_no", Act.RESTART_NO),
            ),
        ),
    )


def _status_key(status: Status) -> str:
    return {
        Status.ACTIVE: "status_active",
        Status.PAUSED: "status_paused",
        Status.COMPLETED: "status_complete",
    }[status]


def _period(local_now: datetime) -> str:
    """The year a report covers: reports written in January to March look back a year."""
    return str(local_now.year if local_now.month > 3 else local_now.year - 1)
