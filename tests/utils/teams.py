"""Journeys of the team side: a supervisor with a team, members who join and submit."""

from __future__ import annotations

import re

from tests.utils.journeys import questionnaire, script
from tests.utils.telegram import FakeTelegram, FakeUser

_LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


def invite_code(text: str) -> str:
    """The payload of the (last) invite link in a message."""
    codes = _LINK.findall(text)
    assert codes, f"no invite link in {text!r}"
    return str(codes[-1])


async def supervisor_with_team(
    user: FakeUser, team: str = "市教育局述职组", *, name: str = "李书记"
) -> str:
    """Register, create a team; returns the member invite code."""
    await user.registers(name=name, position="党组书记", organisation="市教育局")
    await user.says(f"/newteam {team}")
    return invite_code(user.last_text)


async def joins(user: FakeUser, code: str, *, name: str = "张伟", registered: bool = True) -> None:
    """Open the invite link (registering first if need be) and confirm."""
    if not registered:
        await user.says(f"/start {code}")
        await user.presses("中文")
        await user.says(name)
        await user.says("副局长")
        await user.says("市教育局")
    else:
        await user.says(f"/start {code}")
    await user.presses("加入")


async def completes_annual_report(user: FakeUser) -> None:
    """Pick the annual report and answer every question substantially."""
    await user.starts_report("年度述职报告")
    for kind, value in script(questionnaire("annual", "zh")):
        if kind == "say":
            await user.says(value)
        else:
            await user.presses(value)


async def submits(user: FakeUser) -> list[str]:
    """/submit, and submit anyway if the review lists anything; returns what was shown."""
    shown = await user.says("/submit")
    if any("仍然提交" in label for label in user.labels()):
        shown += await user.presses("仍然提交")
    return shown


async def member_who_submits(
    tg: FakeTelegram, user_id: int, code: str, name: str = "张伟"
) -> FakeUser:
    """A person who registers, joins with `code`, writes the annual report and submits it."""
    cadre = tg.user(user_id)
    await cadre.registers(name=name)
    await joins(cadre, code)
    await completes_annual_report(cadre)
    await submits(cadre)
    return cadre
