"""Who may do what: every command and every button × every role, through the real
Application, with buttons forged at the request layer (callback data is untrusted).

The table below is the specification. A refused press changes nothing of the team, and its
reply is exactly the reply to the same press on a target that does not exist, so a refusal
tells nothing about the target. An action the code knows and the table does not fails the
test: adding a button means deciding who may press it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest
from sqlmodel import col, select

from bot.services.conversation import Command
from bot.services.replies import Act, Action
from bot.store import reminders as reminder_store
from bot.store.db import Database
from bot.store.models import (
    Cadre,
    Cycle,
    CycleExemption,
    Interview,
    Invite,
    Membership,
    Reminder,
    ReminderKind,
    ReviewDecision,
    Submission,
    SubmissionVersion,
    Team,
)
from bot.telegram.callback_data import encode
from tests.utils import updates
from tests.utils.teams import completes_annual_report, invite_code, joins, submits
from tests.utils.telegram import FakeTelegram, FakeUser


class Role(Enum):
    STRANGER = "stranger"
    UNREGISTERED = "unregistered"
    MEMBER = "cadre of the team"
    OTHER_MEMBER = "cadre of another team"
    SUPERVISOR = "supervisor"
    CO_SUPERVISOR = "co-supervisor"
    OTHER_SUPERVISOR = "supervisor of another team"
    REMOVED = "removed member"
    FORMER_SUPERVISOR = "former supervisor"


class Outcome(Enum):
    ALLOW = "allowed"
    REFUSE = "refused"
    REGISTER = "asked to register first"


A, R_, G = Outcome.ALLOW, Outcome.REFUSE, Outcome.REGISTER
ROLES = list(Role)
REGISTERED = [r for r in ROLES if r not in (Role.STRANGER, Role.UNREGISTERED)]
TEAM_SUPERVISORS = {Role.SUPERVISOR, Role.CO_SUPERVISOR}


def row(allowed: set[Role], *, unregistered: Outcome = G) -> dict[Role, Outcome]:
    """Allowed for these roles, refused for the other registered ones; a stranger and an
    unregistered user are asked to register first."""
    out = {r: (A if r in allowed else R_) for r in REGISTERED}
    out[Role.STRANGER] = G
    out[Role.UNREGISTERED] = unregistered
    return out


EVERYONE = set(REGISTERED)
OWNER = {Role.MEMBER}  # the member whose interview / report the button names
IN_TEAM = {Role.MEMBER, Role.SUPERVISOR, Role.CO_SUPERVISOR}
READERS = {Role.MEMBER, Role.SUPERVISOR, Role.CO_SUPERVISOR}


@dataclass(frozen=True)
class Spec:
    """One action: who may do it; whether doing it changes what later cells would see."""

    expected: dict[Role, Outcome]
    destructive: bool = False


# The table: every command and every button. -----------------------------------------------

COMMANDS: dict[Command, Spec] = {
    Command.START: Spec(row(EVERYONE, unregistered=G)),
    Command.HELP: Spec(row(EVERYONE)),
    Command.STATUS: Spec(row(EVERYONE)),
    Command.EDIT: Spec(row(EVERYONE)),
    Command.DRAFT: Spec(row(EVERYONE)),
    Command.CANCEL: Spec(row(EVERYONE)),
    Command.RESTART: Spec(row(EVERYONE)),
    Command.NEW: Spec(row(EVERYONE)),
    Command.PROFILE: Spec(row(EVERYONE)),
    Command.SUBMIT: Spec(row(EVERYONE)),
    Command.HISTORY: Spec(row(EVERYONE)),
    Command.TEAM: Spec(row(EVERYONE)),
    Command.NEWTEAM: Spec(row(EVERYONE)),
    Command.FORGET_ME: Spec(row(EVERYONE)),
    Command.NEWCYCLE: Spec(row(EVERYONE)),
    Command.DEADLINES: Spec(row(EVERYONE)),
    Command.TIMEZONE: Spec(row(EVERYONE)),
    Command.AWAY: Spec(row(EVERYONE)),
}

ACTS: dict[Act, Spec] = {
    # The person's own registration and profile: nothing of anyone else's to name.
    Act.LANGUAGE: Spec(row(EVERYONE)),
    Act.PROFILE: Spec(row(EVERYONE)),
    Act.REPORT_TYPE: Spec(row(EVERYONE)),
    Act.NEW: Spec(row(EVERYONE)),
    # The interview named by the button: its owner's alone.
    Act.NEXT: Spec(row(OWNER), destructive=True),
    Act.SKIP: Spec(row(OWNER), destructive=True),
    Act.BACK: Spec(row(OWNER), destructive=True),
    Act.KEEP: Spec(row(OWNER), destructive=True),
    Act.JUMP: Spec(row(OWNER), destructive=True),
    Act.EDIT_QUESTION: Spec(row(OWNER), destructive=True),
    Act.EDIT_ENTRY: Spec(row(OWNER), destructive=True),
    Act.EDIT_CANCEL: Spec(row(OWNER)),
    Act.EDIT_LIST: Spec(row(OWNER)),
    Act.RESTART: Spec(row(OWNER), destructive=True),
    Act.RESTART_NO: Spec(row(OWNER)),
    Act.DRAFT: Spec(row(OWNER)),
    Act.DRAFT_FILE: Spec(row(OWNER)),
    Act.SUBMIT: Spec(row(OWNER)),
    Act.SUBMIT_TO: Spec(row(OWNER), destructive=True),
    Act.SUBMIT_ANYWAY: Spec(row(OWNER), destructive=True),
    Act.SUBMIT_CANCEL: Spec(row(OWNER)),
    Act.POLISH: Spec(row(OWNER), destructive=True),
    Act.WORDING: Spec(row(OWNER), destructive=True),
    # The team named by the button: its current supervisors'.
    Act.TEAM: Spec(row(TEAM_SUPERVISORS)),
    Act.INVITE: Spec(row(TEAM_SUPERVISORS)),
    Act.INVITE_ROTATE: Spec(row(TEAM_SUPERVISORS)),
    Act.INVITE_DELETE: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.MEMBERS: Spec(row(TEAM_SUPERVISORS)),
    Act.REMOVE: Spec(row(TEAM_SUPERVISORS)),
    Act.REMOVE_YES: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.COSUPERVISOR: Spec(row(TEAM_SUPERVISORS)),
    Act.RENAME: Spec(row(TEAM_SUPERVISORS)),
    Act.DELETE: Spec(row(TEAM_SUPERVISORS)),
    Act.DELETE_YES: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.SUCCESSOR: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.BOARD: Spec(row(TEAM_SUPERVISORS)),
    Act.MEMBER: Spec(row(TEAM_SUPERVISORS)),
    Act.EXPORT: Spec(row(TEAM_SUPERVISORS)),
    # Leaving the team named by the button: only someone in it.
    Act.LEAVE: Spec(row(IN_TEAM)),
    Act.LEAVE_YES: Spec(row(IN_TEAM), destructive=True),
    # Joining: only through the invite the person opened themselves (nobody here has).
    Act.JOIN: Spec(row(set())),
    Act.JOIN_NO: Spec(row(EVERYONE)),
    Act.TEAM_NEW: Spec(row(EVERYONE)),
    Act.TEAMS: Spec(row(EVERYONE)),
    # A submitted version: its author reads it, the team's supervisors read and decide.
    Act.OPEN: Spec(row(READERS)),
    Act.APPROVE: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.RETURN: Spec(row(TEAM_SUPERVISORS)),
    Act.HISTORY: Spec(row(READERS)),
    # Forgetting: the person themselves (a sole supervisor is asked for a successor first).
    Act.FORGET: Spec(row(EVERYONE), destructive=True),
    Act.FORGET_NO: Spec(row(EVERYONE)),
    # The team's cycles and reminder settings: its current supervisors'.
    Act.CYCLES: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_NEW: Spec(row(TEAM_SUPERVISORS)),
    Act.TEAM_ZONE: Spec(row(TEAM_SUPERVISORS)),
    Act.TEAM_DAYS_OFF: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.TEAM_OVERDUE: Spec(row(TEAM_SUPERVISORS), destructive=True),
    # A cycle named by the button: the supervisors of its team.
    Act.CYCLE: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_TYPE: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_OPEN: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_DEADLINE: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_MOVE: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.CYCLE_OFFSETS: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_CLOSE: Spec(row(TEAM_SUPERVISORS)),
    Act.CYCLE_CLOSE_YES: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.CYCLE_DISCARD: Spec(row(TEAM_SUPERVISORS)),
    Act.EXEMPT: Spec(row(TEAM_SUPERVISORS), destructive=True),
    Act.UNEXEMPT: Spec(row(TEAM_SUPERVISORS)),
    # A cycle's interview: a current member of its team. A reminder: its recipient's.
    Act.CYCLE_GO: Spec(row(OWNER)),
    Act.SNOOZE: Spec(row(OWNER)),
}


def test_every_command_and_every_button_has_a_row() -> None:
    assert set(COMMANDS) == set(Command)
    assert set(ACTS) == set(Act)
    for spec in [*COMMANDS.values(), *ACTS.values()]:
        assert set(spec.expected) == set(Role)


# The world every cell runs in. -----------------------------------------------------------

IDS = {
    Role.SUPERVISOR: 101,
    Role.CO_SUPERVISOR: 102,
    Role.FORMER_SUPERVISOR: 103,
    Role.MEMBER: 104,
    Role.REMOVED: 105,
    Role.OTHER_SUPERVISOR: 106,
    Role.OTHER_MEMBER: 107,
    Role.UNREGISTERED: 108,
}
_strangers = itertools.count(900_000)
MISSING = 999_999


@dataclass
class World:
    """Team A (supervisor, co-supervisor, a member with a submitted report pending, a
    removed member, a former supervisor) and team B (its supervisor and member)."""

    team: int
    other_team: int
    member: int  # the member's membership of the team (what member buttons name)
    interview: int
    revision: int
    submission: int
    version: int
    invite: int
    cycle: int  # an open cycle of the team (annual report)
    cycle_revision: int
    reminder: int  # a reminder of that cycle to the member


async def cosupervisor_joins(tg: FakeTelegram, boss: FakeUser, user: FakeUser, name: str) -> None:
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    code = invite_code(boss.last_text)
    await user.registers(name=name, position="副书记", organisation="市教育局")
    await user.says(f"/start {code}")
    await user.presses("成为") if any("成为" in x for x in user.labels()) else None
    await user.presses("加入")


async def build_world(tg: FakeTelegram, db: Database) -> World:
    boss = tg.user(IDS[Role.SUPERVISOR])
    await boss.registers(name="李书记", position="党组书记", organisation="市教育局")
    await boss.says("/newteam 甲组")
    code = invite_code(boss.last_text)
    await cosupervisor_joins(tg, boss, tg.user(IDS[Role.CO_SUPERVISOR]), "王副书记")
    former = tg.user(IDS[Role.FORMER_SUPERVISOR])
    await cosupervisor_joins(tg, boss, former, "赵前任")
    await former.says("/team")
    await former.presses("不再担任审阅人")
    await former.presses("确定退出")
    member = tg.user(IDS[Role.MEMBER])
    await member.registers(name="张伟")
    await joins(member, code)
    await completes_annual_report(member)
    await submits(member)
    # Then a new report, left at a follow-up: the buttons of an interview in progress.
    await member.says("/new")
    await member.presses("年度述职报告")
    await member.says("副局长")
    removed = tg.user(IDS[Role.REMOVED])
    await removed.registers(name="钱被移")
    await joins(removed, code)
    await boss.says("/team")
    await boss.presses("成员")
    await boss.presses("钱被移")
    await boss.presses("确定移除")
    other_boss = tg.user(IDS[Role.OTHER_SUPERVISOR])
    await other_boss.registers(name="孙书记")
    await other_boss.says("/newteam 乙组")
    other_code = invite_code(other_boss.last_text)
    other_member = tg.user(IDS[Role.OTHER_MEMBER])
    await other_member.registers(name="周乙")
    await joins(other_member, other_code)
    await tg.user(IDS[Role.UNREGISTERED]).says("/start")
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    await boss.says("2026-12-31 18:00")
    await boss.presses("发起周期")
    await tg.deliver()
    assert not tg.errors
    async with db.session() as session:
        teams = {t.name: t.id for t in (await session.exec(select(Team))).all()}
        person = (
            await session.exec(select(Cadre).where(Cadre.telegram_user_id == IDS[Role.MEMBER]))
        ).one()
        interview = (
            await session.exec(
                select(Interview)
                .where(Interview.cadre_id == person.id)
                .order_by(col(Interview.id).desc())
            )
        ).first()
        assert interview is not None and interview.awaiting_follow_up
        submission = (await session.exec(select(Submission))).one()
        version = (await session.exec(select(SubmissionVersion))).one()
        invite = (
            await session.exec(
                select(Invite).where(Invite.team_id == teams["甲组"], Invite.role == "member")
            )
        ).one()
        membership = (
            await session.exec(
                select(Membership).where(
                    Membership.team_id == teams["甲组"], Membership.cadre_id == person.id
                )
            )
        ).one()
        cycle = (await session.exec(select(Cycle))).one()
        assert cycle.id is not None and cycle.status == "open"
        await reminder_store.add(
            session,
            [
                reminder_store.Planned(
                    cycle.id, person.id or 0, ReminderKind.BEFORE, "later", tg.clock(), tg.clock()
                )
            ],
        )
        await session.commit()
        reminder = (
            await session.exec(select(Reminder).where(Reminder.recipient_id == person.id))
        ).first()
        assert reminder is not None
    assert None not in (person.id, interview.id, submission.id, version.id, invite.id)
    return World(
        team=teams["甲组"] or 0,
        other_team=teams["乙组"] or 0,
        member=membership.id or 0,
        interview=interview.id or 0,
        revision=interview.revision,
        submission=submission.id or 0,
        version=version.id or 0,
        invite=invite.id or 0,
        cycle=cycle.id,
        cycle_revision=cycle.revision,
        reminder=reminder.id or 0,
    )


def action_for(act: Act, world: World, *, missing: bool = False) -> Action:
    """The press of `act` on the world's target (or on one that does not exist)."""
    target = {
        "interview": world.interview,
        "team": world.team,
        "version": world.version,
        "submission": world.submission,
        "invite": world.invite,
        "cycle": world.cycle,
        "reminder": world.reminder,
    }
    kind = _TARGETS.get(act)
    if kind is None:
        args = {Act.LANGUAGE: "zh", Act.PROFILE: "name", Act.REPORT_TYPE: "annual"}
        return Action(act, arg=args.get(act, ""))
    number = MISSING if missing else target[kind]
    if kind == "interview":
        index = world.team if act in (Act.SUBMIT_TO, Act.SUBMIT_ANYWAY) else -1
        revision = (
            world.revision if act in (Act.RESTART, Act.SUBMIT_TO, Act.SUBMIT_ANYWAY) else None
        )
        # The interview is at its first question, a follow-up asked: every button fresh
        # (an entry to edit is one of a list question's).
        if act is Act.EDIT_ENTRY:
            return Action(act, number, "key_results", 0)
        if act is Act.WORDING:
            return Action(act, number, "results", 1)
        return Action(act, number, "post", index, revision)
    if act in (Act.MEMBER, Act.REMOVE, Act.REMOVE_YES, Act.SUCCESSOR):
        return Action(act, number, "annual_2026" if act is Act.MEMBER else "", world.member)
    if act in (Act.BOARD, Act.EXPORT):
        return Action(act, number, "annual_2026", 0)
    if act is Act.TEAM_DAYS_OFF:
        return Action(act, number, "weekends")
    if act is Act.TEAM_OVERDUE:
        return Action(act, number, "off")
    if act is Act.CYCLE_TYPE:
        return Action(act, number, "annual")
    if act is Act.CYCLE_MOVE:
        # 2027-01-05 10:00 UTC, in minutes since the epoch, on the cycle as it stands.
        return Action(act, number, "29985720", revision=world.cycle_revision)
    if act is Act.CYCLE_CLOSE_YES:
        return Action(act, number, revision=world.cycle_revision)
    if act in (Act.EXEMPT, Act.UNEXEMPT):
        return Action(act, number, index=world.member)
    return Action(act, number, index=0 if act is Act.MEMBERS else -1)


_TARGETS: dict[Act, str] = {
    **{
        a: "interview"
        for a in (
            Act.NEXT,
            Act.SKIP,
            Act.BACK,
            Act.KEEP,
            Act.JUMP,
            Act.EDIT_QUESTION,
            Act.EDIT_ENTRY,
            Act.EDIT_CANCEL,
            Act.EDIT_LIST,
            Act.RESTART,
            Act.RESTART_NO,
            Act.DRAFT,
            Act.DRAFT_FILE,
            Act.SUBMIT,
            Act.SUBMIT_TO,
            Act.SUBMIT_ANYWAY,
            Act.SUBMIT_CANCEL,
            Act.POLISH,
            Act.WORDING,
        )
    },
    **{
        a: "team"
        for a in (
            Act.TEAM,
            Act.INVITE,
            Act.INVITE_ROTATE,
            Act.INVITE_DELETE,
            Act.MEMBERS,
            Act.REMOVE,
            Act.REMOVE_YES,
            Act.COSUPERVISOR,
            Act.RENAME,
            Act.DELETE,
            Act.DELETE_YES,
            Act.SUCCESSOR,
            Act.BOARD,
            Act.MEMBER,
            Act.EXPORT,
            Act.LEAVE,
            Act.LEAVE_YES,
            Act.CYCLES,
            Act.CYCLE_NEW,
            Act.TEAM_ZONE,
            Act.TEAM_DAYS_OFF,
            Act.TEAM_OVERDUE,
        )
    },
    **{
        a: "cycle"
        for a in (
            Act.CYCLE,
            Act.CYCLE_TYPE,
            Act.CYCLE_OPEN,
            Act.CYCLE_DEADLINE,
            Act.CYCLE_MOVE,
            Act.CYCLE_OFFSETS,
            Act.CYCLE_CLOSE,
            Act.CYCLE_CLOSE_YES,
            Act.CYCLE_DISCARD,
            Act.EXEMPT,
            Act.UNEXEMPT,
            Act.CYCLE_GO,
        )
    },
    Act.SNOOZE: "reminder",
    Act.OPEN: "version",
    Act.APPROVE: "version",
    Act.RETURN: "version",
    Act.HISTORY: "submission",
    Act.JOIN: "invite",
}

# What a refusal says, by the kind of target: the interview's own "old button" answer, the
# team side's one refusal, an invite that does not work.
REFUSALS = {
    "interview": "这个按钮属于之前的步骤",
    "team": "这项操作不可用",
    "version": "这项操作不可用",
    "submission": "这项操作不可用",
    "invite": "邀请链接无效",
    "cycle": "这项操作不可用",
    "reminder": "这项操作不可用",
}
REGISTRATION = (
    "请先完成个人信息登记",
    "报告使用哪种语言",
    "请用下方按钮选择语言",
    "欢迎使用",
    "请问您的姓名",
)


def user_of(tg: FakeTelegram, role: Role) -> FakeUser:
    user_id = next(_strangers) if role is Role.STRANGER else IDS[role]
    return tg.user(user_id)


async def press(user: FakeUser, action: Action) -> list[str]:
    return await user.sends(updates.callback_update(user.id, encode(action)))


async def fingerprint(db: Database) -> Any:
    """Everything a refused press must leave as it was."""
    async with db.session() as session:
        return (
            [
                (t.id, t.name)
                for t in (await session.exec(select(Team).order_by(col(Team.id)))).all()
            ],
            [
                (m.team_id, m.cadre_id, m.role, m.left_at is None)
                for m in (await session.exec(select(Membership).order_by(col(Membership.id)))).all()
            ],
            [
                (i.code, i.revoked_at is None, i.used_at is None)
                for i in (await session.exec(select(Invite).order_by(col(Invite.id)))).all()
            ],
            [
                (s.status, s.version)
                for s in (await session.exec(select(Submission).order_by(col(Submission.id)))).all()
            ],
            len((await session.exec(select(ReviewDecision))).all()),
            [
                (i.id, i.status, i.revision)
                for i in (await session.exec(select(Interview).order_by(col(Interview.id)))).all()
            ],
            sorted(
                c.telegram_user_id
                for c in (await session.exec(select(Cadre))).all()
                if c.telegram_user_id < 900_000
            ),
            [
                (c.id, c.status, c.revision, c.deadline_at)
                for c in (await session.exec(select(Cycle).order_by(col(Cycle.id)))).all()
            ],
            len((await session.exec(select(CycleExemption))).all()),
            [
                (t.timezone, t.days_off, t.overdue_daily)
                for t in (await session.exec(select(Team).order_by(col(Team.id)))).all()
            ],
            [
                (r.id, r.state, r.planned_at)
                for r in (await session.exec(select(Reminder).order_by(col(Reminder.id)))).all()
            ],
        )


def classify(replies: list[str], refusal: str | None) -> Outcome:
    text = "\n".join(replies)
    if any(marker in text for marker in REGISTRATION):
        return Outcome.REGISTER
    if refusal is not None and refusal in text:
        return Outcome.REFUSE
    return Outcome.ALLOW


async def check_button(tg: FakeTelegram, db: Database, world: World, act: Act, role: Role) -> None:
    expected = ACTS[act].expected[role]
    kind = _TARGETS.get(act)
    refusal = REFUSALS.get(kind) if kind else None
    before = await fingerprint(db)
    replies = await press(user_of(tg, role), action_for(act, world))
    outcome = classify(replies, refusal)
    assert outcome is expected, f"{act.name} by {role.value}: {outcome.value}; saw {replies}"
    if expected is Outcome.REFUSE:
        assert await fingerprint(db) == before, f"{act.name} by {role.value} changed something"
        if kind is not None:
            # The same person pressing the same button on a target that does not exist
            # reads exactly the same words (for a stranger: another stranger).
            again = await press(user_of(tg, role), action_for(act, world, missing=True))
            assert again == replies, f"{act.name} by {role.value}: {again} != {replies}"


async def check_command(tg: FakeTelegram, command: Command, role: Role) -> None:
    expected = COMMANDS[command].expected[role]
    text = f"/{command.value}" + (" 新团队" if command is Command.NEWTEAM else "")
    replies = await user_of(tg, role).says(text)
    outcome = classify(replies, "这项操作不可用")
    assert outcome is expected, f"/{command.value} by {role.value}: {outcome.value}; saw {replies}"


# The cells: the shared world for what changes nothing, fresh worlds for the rest. --------


def _cells() -> list[Any]:
    cells: list[Any] = [pytest.param("shared", None, id="shared-world")]
    for act, spec in ACTS.items():
        if not spec.destructive:
            continue
        cells.append(pytest.param(act, None, id=f"{act.name}-refused"))
        for role, outcome in spec.expected.items():
            if outcome is not Outcome.REFUSE:
                cells.append(pytest.param(act, role, id=f"{act.name}-{role.name}"))
    return cells


@pytest.mark.parametrize(("act", "role"), _cells())
async def test_authorization(
    tg: FakeTelegram, db: Database, act: Act | str, role: Role | None
) -> None:
    world = await build_world(tg, db)
    if act == "shared":
        for command in Command:
            for each in ROLES:
                if command in (Command.FORGET_ME, Command.RESTART, Command.NEW):
                    continue  # they only ask; checked below with the roles' answers
                await check_command(tg, command, each)
        for command in (Command.FORGET_ME, Command.RESTART, Command.NEW):
            for each in ROLES:
                await check_command(tg, command, each)
        for each_act, spec in ACTS.items():
            if spec.destructive:
                continue
            for each in ROLES:
                await check_button(tg, db, world, each_act, each)
        return
    assert isinstance(act, Act)
    if role is None:
        for each, outcome in ACTS[act].expected.items():
            if outcome is Outcome.REFUSE:
                await check_button(tg, db, world, act, each)
        return
    await check_button(tg, db, world, act, role)
