"""Reporting cycles end to end through the real Application: a supervisor opens one (the
deadline read back and confirmed), members are told, reminded at the offsets until they
submit, told when they are overdue; the supervisor gets the digest. The clock is moved by
hand and the dispatcher run at each moment (`tg.remind`), as the running bot would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from bot.store.db import Database
from bot.store.models import Cadre, Cycle, Reminder, ReminderKind, ReminderState, Submission
from tests.fakes.bot_api import FakeBotApi
from tests.utils import updates
from tests.utils.clock import FakeClock
from tests.utils.teams import (
    completes_annual_report,
    invite_code,
    joins,
    submits,
    supervisor_with_team,
)
from tests.utils.telegram import FakeTelegram, FakeUser

# The clock starts on Wednesday 25 November 2026, 10:00 in Beijing (02:00 UTC).
DEADLINE = "2026-12-31 18:00"  # Thursday; 10:00 UTC
DEADLINE_UTC = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)


async def team_of_two(tg: FakeTelegram) -> tuple[FakeUser, FakeUser, FakeUser]:
    """A supervisor and two members (张伟, 王芳) of one team."""
    boss, zhang, wang = tg.user(1), tg.user(2), tg.user(3)
    code = await supervisor_with_team(boss)
    await zhang.registers(name="张伟")
    await joins(zhang, code)
    await wang.registers(name="王芳")
    await joins(wang, code)
    await tg.deliver()
    return boss, zhang, wang


async def opens_cycle(boss: FakeUser, deadline: str = DEADLINE) -> list[str]:
    """/newcycle, the annual report, the deadline; returns the read-back, then opens it."""
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    shown = await boss.says(deadline)
    await boss.presses("发起周期")
    return shown


def reminders_to(user: FakeUser) -> list[str]:
    return [t for t in user.texts if t.startswith("⏰")]


def overdue_to(user: FakeUser) -> list[str]:
    return [t for t in user.texts if t.startswith("⚠️")]


def digests_to(user: FakeUser) -> list[str]:
    return [t for t in user.texts if t.startswith("📋")]


async def rows(db: Database) -> list[Reminder]:
    async with db.session() as session:
        return list((await session.exec(select(Reminder).order_by(col(Reminder.id)))).all())


async def test_the_deadline_is_read_back_with_its_weekday_and_zone_before_anything_is_saved(
    tg: FakeTelegram, db: Database
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    shown = await boss.says("2026-12-31 18:00")
    assert "2026年12月31日（星期四）18:00（北京时间）" in shown[-1]
    assert "截止前 7天、3天、1天、2小时" in shown[-1] and "2 人" in shown[-1]
    async with db.session() as session:
        cycle = (await session.exec(select(Cycle))).one()
    assert cycle.status == "draft" and not await rows(db)
    await tg.deliver()
    assert not any("📅" in t for t in zhang.texts)  # nobody is told before it is opened
    await boss.presses("发起周期")
    assert "已发起" in boss.last_text and "已通知 2 名成员" in boss.last_text
    planned = await rows(db)
    kinds = sorted((r.recipient_id, r.kind, r.label) for r in planned)
    assert len([k for k in kinds if k[1] == ReminderKind.BEFORE]) == 8  # 4 offsets x 2
    assert len([k for k in kinds if k[1] == ReminderKind.OVERDUE]) == 2
    assert len([k for k in kinds if k[1] == ReminderKind.DIGEST]) == 1
    await tg.deliver()
    assert "2026年12月31日（星期四）18:00（北京时间）" in zhang.last_text
    assert "开始或继续填写" in zhang.labels()


async def test_a_deadline_in_the_past_or_unreadable_is_refused_with_examples(
    tg: FakeTelegram, db: Database
) -> None:
    boss, _, _ = await team_of_two(tg)
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    assert "已经过去" in (await boss.says("2026-11-01 18:00"))[-1]
    unreadable = (await boss.says("等我想想"))[-1]
    assert "2026-12-31 18:00" in unreadable and "日在前" in unreadable
    # Still waiting for the deadline: the next text is taken as it.
    assert "星期四" in (await boss.says("12月31日18时"))[-1]
    async with db.session() as session:
        cycle = (await session.exec(select(Cycle))).one()
    assert cycle.deadline_at == DEADLINE_UTC and cycle.status == "draft"


async def test_a_sticker_while_a_deadline_is_owed_repeats_the_question_and_cancel_ends_it(
    tg: FakeTelegram, db: Database
) -> None:
    boss, _, _ = await team_of_two(tg)
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    shown = await boss.sends(updates.sticker_update(boss.id))
    assert any("正在等待周期的截止时间" in t for t in shown)
    await boss.says("/cancel")
    assert "2026-12-31" not in boss.last_text
    async with db.session() as session:
        person = (await session.exec(select(Cadre).where(Cadre.telegram_user_id == 1))).one()
    assert person.awaiting_input is None


async def test_reminders_go_at_each_offset_only_to_those_who_have_not_submitted(
    tg: FakeTelegram, clock: FakeClock, db: Database, api: FakeBotApi
) -> None:
    boss, zhang, wang = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    await completes_annual_report(wang)
    await submits(wang)
    await tg.deliver()
    assert await tg.remind() == 0  # nothing is due yet
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # 7 days before, 18:00 Beijing
    await tg.remind()
    [first] = reminders_to(zhang)
    assert "还剩7天" in first and "尚未开始" in first
    assert {"现在开始", "稍后提醒我"} <= set(zhang.labels())
    assert not reminders_to(wang)
    clock.now = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)  # 3 days before
    await tg.remind()
    assert "还剩3天" in reminders_to(zhang)[-1]
    assert not reminders_to(wang)
    # Pressing "start now" lands on the cycle's interview.
    await zhang.presses("现在开始")
    assert any("年度述职报告" in t for t in zhang.texts[-3:])
    # Below the reminder, which stays as it was.
    assert any("还剩3天" in str(m.get("text")) for m in tg.api.bot_messages(2))
    clock.now = datetime(2026, 12, 31, 8, 0, tzinfo=UTC)  # 2 hours before (1 day: missed below)
    sent_before = len(api.sent_messages(2))
    await tg.remind()
    latest = reminders_to(zhang)[-1]
    assert "还剩2小时" in latest and "现在继续" in zhang.labels()
    # The 1-day reminder fell due while the 2-hour one had not: only the newest went out.
    assert len(api.sent_messages(2)) == sent_before + 1
    states = {(r.recipient_id, r.label): r.state for r in await rows(db) if r.kind == "before"}
    assert list(states.values()).count(ReminderState.SENT) == 3  # 7d, 3d, 2h to 张伟 …
    assert any(state == ReminderState.SKIPPED for state in states.values())  # … 1d replaced


async def test_after_an_hour_stopped_each_due_reminder_is_sent_once_or_replaced(
    tg: FakeTelegram, clock: FakeClock, db: Database, api: FakeBotApi
) -> None:
    boss, zhang, wang = await team_of_two(tg)
    await opens_cycle(boss, "2026-11-28 18:00")  # Saturday: day offsets move to working days
    await tg.deliver()
    planned = [r for r in await rows(db) if r.kind == "before"]
    assert planned  # 3d and 1d fall on days off or in the past; 2h stands
    # The bot is down from an hour before the 2-hour reminder until an hour after it.
    clock.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 17:00 Beijing, 1 h before
    before = {c: len(reminders_to(u)) for c, u in ((2, zhang), (3, wang))}
    await tg.remind()
    await tg.remind()
    for chat, user in ((2, zhang), (3, wang)):
        assert len(reminders_to(user)) == before[chat] + 1
        assert "还剩1小时" in reminders_to(user)[-1]  # the time left as it was sent
    # Nothing is sent twice, however often the dispatcher runs.
    assert await tg.remind() == 0
    states = [r.state for r in await rows(db) if r.kind == "before"]
    assert ReminderState.PENDING not in states and ReminderState.SENDING not in states


async def test_at_the_deadline_the_missing_are_told_and_the_supervisor_gets_a_digest(
    tg: FakeTelegram, clock: FakeClock, db: Database
) -> None:
    boss, zhang, wang = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    await completes_annual_report(wang)
    await submits(wang)
    await tg.deliver()
    clock.now = DEADLINE_UTC
    await tg.remind()
    [notice] = overdue_to(zhang)
    assert "已过截止时间" in notice and not overdue_to(wang)
    [digest] = digests_to(boss)
    assert "按时提交：1" in digest and "未提交：张伟" in digest
    # The next working morning (Friday 1 January 2027 is a day off only by the new year's
    # holiday, which the calendar may not know yet): a daily reminder and a daily digest.
    clock.now = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)  # Monday 09:00 Beijing
    await tg.remind()
    assert len(overdue_to(zhang)) == 2 and "已逾期" in overdue_to(zhang)[-1]
    assert len(digests_to(boss)) == 2
    # 张伟 submits late: no more reminders; the digest says late, and stops.
    await completes_annual_report(zhang)
    await submits(zhang)
    await tg.deliver()
    # Only 张伟's submission came late (王芳's, before the deadline, has no such note).
    assert sum("在截止时间之后提交，记为逾期" in t for t in boss.texts) == 1
    clock.now = datetime(2027, 1, 8, 1, 0, tzinfo=UTC)
    await tg.remind()
    assert len(overdue_to(zhang)) == 2
    assert len(digests_to(boss)) == 3 and "逾期提交：张伟" in digests_to(boss)[-1]
    clock.now = datetime(2027, 1, 15, 1, 0, tzinfo=UTC)
    assert await tg.remind() == 0
    async with db.session() as session:
        late = (await session.exec(select(Submission).where(Submission.cadre_id == 2))).first()
    assert late is None or late.cycle_id is not None
    await boss.says("/deadlines")
    assert "逾期提交：1" in boss.last_text


async def test_the_digest_goes_out_even_when_nobody_submitted(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss, _, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = DEADLINE_UTC
    await tg.remind()
    [digest] = digests_to(boss)
    assert "按时提交：0" in digest and "张伟" in digest and "王芳" in digest


async def test_remind_me_later_comes_back_at_nine_the_next_working_day(
    tg: FakeTelegram, clock: FakeClock, db: Database
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # Thursday 18:00 Beijing
    await tg.remind()
    replies = await zhang.presses("稍后提醒我")
    assert "2026年12月25日（星期五）09:00（北京时间）" in replies[-1]
    clock.now = datetime(2026, 12, 25, 1, 0, tzinfo=UTC)
    await tg.remind()
    assert len(reminders_to(zhang)) == 2 and "还剩6天" in reminders_to(zhang)[-1]


async def test_a_supervisor_moves_the_deadline_members_are_told_and_reminders_follow(
    tg: FakeTelegram, clock: FakeClock, db: Database
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    await boss.presses("修改截止时间")
    shown = await boss.says("2027-01-08 18:00")
    assert "2027年1月8日（星期五）18:00" in shown[-1]
    await boss.presses("确认修改截止时间")
    await tg.deliver()
    assert "已改为" in zhang.last_text and "2027年1月8日" in zhang.last_text
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # the old 7-day moment
    await tg.remind()
    assert not reminders_to(zhang)
    clock.now = datetime(2027, 1, 1, 10, 0, tzinfo=UTC)  # the new 7-day moment
    await tg.remind()
    assert "还剩7天" in reminders_to(zhang)[-1]


async def test_closing_a_cycle_stops_its_reminders(tg: FakeTelegram, clock: FakeClock) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    await boss.presses("结束周期")
    await boss.presses("确认结束")
    assert "已结束" in boss.last_text
    clock.now = DEADLINE_UTC
    await tg.remind()
    assert not reminders_to(zhang) and not overdue_to(zhang) and not digests_to(boss)


async def test_someone_who_joins_while_a_cycle_is_open_is_told_at_once(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    await opens_cycle(boss)
    late = tg.user(4)
    await late.registers(name="刘洋")
    await joins(late, code)
    await tg.deliver()
    assert any("📅" in t and "2026年12月31日" in t for t in late.texts)
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    await tg.remind()
    assert "还剩7天" in reminders_to(late)[-1]


async def test_an_excused_member_and_one_away_are_not_reminded_nor_counted_missing(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss, zhang, wang = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    # 王芳 is away past the deadline: her supervisor is told.
    told = await wang.says("/away 2027-01-10")
    assert "2027年1月10日" in told[-1] and "已告知审阅人" in told[-1]
    await tg.deliver()
    assert any("王芳外出至" in t for t in boss.texts)
    # 张伟 is excused from the board's member page.
    await boss.says("/team")
    await boss.presses("进度看板")
    await boss.presses("年度述职报告 · 2026")
    await boss.presses("张伟")
    await boss.presses("免于本周期")
    await tg.deliver()
    assert any("免于提交" in t for t in zhang.texts)
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    await tg.remind()
    assert not reminders_to(zhang) and not reminders_to(wang)
    clock.now = DEADLINE_UTC
    await tg.remind()
    [digest] = digests_to(boss)
    assert "未提交：0" in digest and "外出：王芳" in digest and "免于提交：张伟" in digest


async def test_deadlines_shows_a_member_their_cycles_in_their_own_time_zone(
    tg: FakeTelegram,
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    assert "2026年12月31日（星期四）18:00（北京时间）" in (await zhang.says("/deadlines"))[-1]
    assert "Europe/Berlin" in (await zhang.says("/timezone Europe/Berlin"))[-1]
    shown = (await zhang.says("/deadlines"))[-1]
    assert "2026年12月31日（星期四）11:00（Europe/Berlin）" in shown and "尚未开始" in shown
    assert "不认识这个时区" in (await zhang.says("/timezone Mars/Olympus"))[-1]
    supervised = (await boss.says("/deadlines"))[-1]
    assert "未提交：张伟、王芳" in supervised


async def test_a_reminder_in_quiet_hours_waits_for_the_morning_or_goes_silently(
    tg: FakeTelegram, clock: FakeClock, api: FakeBotApi
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await boss.says("/newcycle")
    await boss.presses("年度述职报告")
    await boss.says("2026-12-31 23:30")
    await boss.presses("修改提醒")
    await boss.says("1d 1h")
    await boss.presses("发起周期")
    await tg.deliver()
    # 1 day before is 23:30 on the 30th: moved to 08:00 on the 31st, with a sound.
    clock.now = datetime(2026, 12, 30, 15, 30, tzinfo=UTC)
    await tg.remind()
    assert not reminders_to(zhang)
    clock.now = datetime(2026, 12, 31, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    await tg.remind()
    assert len(reminders_to(zhang)) == 1
    # 1 hour before is 22:30, and the morning is after the deadline: sent, silently.
    clock.now = datetime(2026, 12, 31, 14, 30, tzinfo=UTC)
    await tg.remind()
    assert len(reminders_to(zhang)) == 2
    last = api.sent_messages(2)[-1]
    assert last.get("disable_notification") is True or last.get("disable_notification") == "true"


async def test_a_member_who_leaves_and_comes_back_is_reminded_once(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    zhang = tg.user(2)
    await zhang.registers(name="张伟")
    await joins(zhang, code)
    await opens_cycle(boss)
    await zhang.says("/team")
    await zhang.presses("退出")
    await zhang.presses("确定退出")
    await joins(zhang, code)
    await tg.deliver()
    assert sum("📅" in t for t in zhang.texts) == 2  # told when it opened, and on coming back
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    await tg.remind()
    assert len(reminders_to(zhang)) == 1


async def test_a_reminder_that_reaches_quiet_hours_late_waits_for_the_morning(
    tg: FakeTelegram, clock: FakeClock, db: Database
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    # The bot was down from before the 1-day reminder (30th, 18:00) until 22:30 that night.
    clock.now = datetime(2026, 12, 30, 14, 30, tzinfo=UTC)
    await tg.remind()
    assert not reminders_to(zhang)
    clock.now = datetime(2026, 12, 31, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    await tg.remind()
    [sent] = reminders_to(zhang)
    assert "还剩10小时" in sent


async def test_a_co_supervisor_who_joins_after_the_cycle_opened_gets_its_digest(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss, _, _ = await team_of_two(tg)
    await opens_cycle(boss)
    deputy = tg.user(5)
    await boss.says("/team")
    await boss.presses("添加共同审阅人")
    code = invite_code(boss.last_text)
    await deputy.registers(name="王副书记", position="副书记")
    await deputy.says(f"/start {code}")
    await deputy.presses("加入")
    await tg.deliver()
    clock.now = DEADLINE_UTC
    await tg.remind()
    assert len(digests_to(boss)) == 1 and len(digests_to(deputy)) == 1


async def test_changing_reminders_after_the_deadline_sends_nothing_again(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = DEADLINE_UTC
    await tg.remind()
    assert len(overdue_to(zhang)) == 1 and len(digests_to(boss)) == 1
    await boss.says("/deadlines")
    await boss.presses("打开周期")
    await boss.presses("修改提醒")
    await boss.says("2d")
    clock.advance(minutes=5)
    await tg.remind()
    assert len(overdue_to(zhang)) == 1 and len(digests_to(boss)) == 1


async def test_daily_overdue_reminders_turned_off_stop(tg: FakeTelegram, clock: FakeClock) -> None:
    boss, zhang, _ = await team_of_two(tg)
    await opens_cycle(boss)
    await tg.deliver()
    clock.now = DEADLINE_UTC
    await tg.remind()
    await boss.says("/team")
    await boss.presses("述职周期")
    await boss.presses("关闭逾期每日提醒")
    assert "逾期后每日提醒：关" in boss.last_text
    clock.now = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    await tg.remind()
    assert len(overdue_to(zhang)) == 1  # the notice at the deadline, no daily one
    assert len(digests_to(boss)) == 2  # the supervisor's daily digest goes on


async def test_members_read_the_cycle_in_their_own_language(
    tg: FakeTelegram, clock: FakeClock
) -> None:
    boss = tg.user(1)
    code = await supervisor_with_team(boss)
    alice = tg.user(6, language_code="en")
    await alice.registers(name="Alice Wang", language="English")
    await alice.says(f"/start {code}")
    await alice.presses("Join")
    await opens_cycle(boss)
    await tg.deliver()
    announcement = alice.last_text
    assert "Thursday 31 December 2026, 18:00" in announcement
    assert "年" not in announcement
    clock.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    await tg.remind()
    assert "7 days left" in alice.last_text and "not started yet" in alice.last_text
