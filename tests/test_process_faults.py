"""The real bot process meets what operators meet: a revoked token, a read-only database,
a database of another bot. Each ends the process with one line and a failure exit code,
so that systemd or Docker (which restart on failure only) see it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store.db import is_sqlite
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer
from tests.test_two_instances import wait_for_log
from tests.utils.process import RemoteUser, bot_process


def test_a_token_revoked_while_running_stops_the_process_with_exit_code_2(
    database_url: str, tmp_path: Path
) -> None:
    api = FakeBotApi()
    with (
        BotApiServer(api) as server,
        bot_process(
            base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=tmp_path
        ) as bot,
    ):
        bot.start()
        RemoteUser(api, 42).says("/start", expect="首先")
        api.revoke_token()
        assert bot.proc is not None
        assert bot.proc.wait(timeout=30) == 2, bot.log()
    log = bot.log()
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in log
    assert "Traceback" not in log


def test_a_database_that_cannot_be_written_is_refused_at_start(
    database_url: str, tmp_path: Path
) -> None:
    """Started on a read-only file, the bot would poll and answer nothing; it says so in one
    line instead (exit code 3), and starts once the file can be written again."""
    if not is_sqlite(database_url):
        pytest.skip("a SQLite file")
    path = make_url(database_url).database or ""
    api = FakeBotApi()
    assert subprocess.run(["chattr", "+i", path]).returncode == 0
    try:
        with (
            BotApiServer(api) as server,
            bot_process(
                base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=tmp_path
            ) as bot,
        ):
            bot.start()
            assert bot.proc is not None
            assert bot.proc.wait(timeout=30) == 3, bot.log()
            assert "readonly database" in bot.log() and "Traceback" not in bot.log()
            assert api.get_updates_calls == 0
            subprocess.run(["chattr", "-i", path], check=True)
            bot.start()
            RemoteUser(api, 42).says("/start", expect="首先")
            assert bot.stop() == 0
    finally:
        subprocess.run(["chattr", "-i", path])


def test_a_database_of_another_bot_is_refused_at_start(database_url: str, tmp_path: Path) -> None:
    first, other = FakeBotApi(), FakeBotApi(bot_id=654321, username="other_bot")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        BotApiServer(first) as server,
        bot_process(
            base_url=server.base_url, token=TOKEN, database_url=database_url, workdir=tmp_path / "a"
        ) as bot,
    ):
        bot.start()
        RemoteUser(first, 42).says("/start", expect="首先")
        assert bot.stop() == 0
    other_token = "654321:OTHER-token_abcdefghijklmnopqrstuvwxyz01"
    with (
        BotApiServer(other) as server,
        bot_process(
            base_url=server.base_url,
            token=other_token,
            database_url=database_url,
            workdir=tmp_path / "b",
        ) as bot,
    ):
        bot.start()
        assert bot.proc is not None
        assert bot.proc.wait(timeout=30) == 3, bot.log()
        wait_for_log(bot, "belongs to the bot @debrief_test_bot")
        assert other.get_updates_calls == 0 and not other.sent_messages()
