"""Callback data: `v1:<act>:<interview>:<arg>:<index>[:<revision>]`, parsed in one place,
never trusted.

Parsing only checks the shape; whether the cadre may do it is decided by the services. The
revision is there only on buttons bound to the state they were shown in (a confirmation);
data without it, from any earlier button, parses as before.
"""

from __future__ import annotations

import re

from bot.services.replies import Act, Action

VERSION = "v1"
_ARG = re.compile(r"^[a-z0-9_]{0,32}$")
_MAX_BYTES = 64  # Telegram's limit for callback_data


class BadCallbackData(ValueError):
    """Callback data that we did not make, or made by an older version of the bot."""


def encode(action: Action) -> str:
    """The callback data string for an action."""
    data = f"{VERSION}:{action.act.value}:{action.target}:{action.arg}:{action.index}"
    if action.revision is not None:
        data += f":{action.revision}"
    if len(data.encode()) > _MAX_BYTES or not _ARG.match(action.arg):
        raise ValueError(f"cannot encode {action!r} in callback data")
    return data


def decode(data: str | None) -> Action:
    """Parse callback data into an action, or raise BadCallbackData."""
    parts = (data or "").split(":")
    if len(parts) not in (5, 6) or parts[0] != VERSION:
        raise BadCallbackData(data)
    _, act, target, arg, index = parts[:5]
    try:
        revision = int(parts[5]) if len(parts) == 6 else None
        action = Action(Act(act), int(target), arg, int(index), revision)
    except ValueError as exc:
        raise BadCallbackData(data) from exc
    if (
        action.target < 0
        or action.index < -1
        or (revision is not None and revision < 0)
        or not _ARG.match(arg)
    ):
        raise BadCallbackData(data)
    return action
