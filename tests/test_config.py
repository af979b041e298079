"""Configuration mistakes give one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from tests.conftest import TOKEN
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.http_server import BotApiServer


def run_bot(workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot run` in a folder of its own, with exactly these settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_URL", "DEFAULT_", "POLL_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=workdir,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("debrief:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_a_missing_token_says_where_to_put_it(tmp_path: Path) -> None:
    assert_one_clear_line(run_bot(tmp_path), "TELEGRAM_BOT_TOKEN is not set", ".env")


@pytest.mark.parametrize("token", ["abc", "123456", "123456:short", "123 456:" + "x" * 35])
def test_a_malformed_token_is_refused_before_any_network_call(tmp_path: Path, token: str) -> None:
    assert_one_clear_line(
        run_bot(tmp_path, TELEGRAM_BOT_TOKEN=token), "does not look like a bot token"
    )


def test_a_token_telegram_rejects_is_reported(tmp_path: Path) -> None:
    with BotApiServer(FakeBotApi(bot_id=999)) as server:
        result = run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=server.base_url)
    assert_one_clear_line(result, "rejected TELEGRAM_BOT_TOKEN")


def test_an_unreachable_bot_api_is_reported(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot"
    )
    assert_one_clear_line(result, "cannot reach the Bot API", "TELEGRAM_API_BASE_URL")


def test_a_malformed_env_file_names_the_bad_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"this line is not a setting\nTELEGRAM_BOT_TOKEN={TOKEN}\n"
        "DEFAULT_LANGUAGE=fr\nPOLL_TIMEOUT=soon\n",
        encoding="utf-8",
    )
    result = run_bot(tmp_path)
    assert_one_clear_line(result, "DEFAULT_LANGUAGE", "POLL_TIMEOUT")


def test_an_env_file_that_is_not_text_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"TELEGRAM_BOT_TOKEN=\xff\xfe\x00\x81\n")
    assert_one_clear_line(run_bot(tmp_path), ".env")


def test_the_api_base_url_is_normalised_to_end_in_bot() -> None:
    for given in ("http://localhost:8081", "http://localhost:8081/", "http://localhost:8081/bot"):
        assert (
            Settings(
                _env_file=None,
                telegram_api_base_url=given,  # type: ignore[call-arg]
            ).telegram_api_base_url
            == "http://localhost:8081/bot"
        )
    with pytest.raises(ConfigError, match="TELEGRAM_API_BASE_URL"):
        load_settings(None, telegram_api_base_url="localhost:8081")


def test_sqlite_is_the_default_database(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.database == f"sqlite+aiosqlite:///{tmp_path / 'debrief.db'}"
