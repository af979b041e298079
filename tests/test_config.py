"""Configuration mistakes give one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, env_file_problems, load_settings
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


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("postgres://u:p@db.example/debrief", "postgresql+asyncpg://u:p@db.example/debrief"),
        ("postgresql://u@db.example/debrief", "postgresql+asyncpg://u@db.example/debrief"),
        ("postgresql+asyncpg://u@db.example/d", "postgresql+asyncpg://u@db.example/d"),
    ],
)
def test_usual_database_urls_are_given_our_async_driver(given: str, used: str) -> None:
    assert load_settings(None, database_url=given).database == used


@pytest.mark.parametrize("url", ["foo", "mysql://u@h/db", "postgresql+psycopg2cffi://u@h/db"])
def test_a_database_url_we_cannot_use_is_refused_in_one_line(tmp_path: Path, url: str) -> None:
    result = run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert_one_clear_line(result, "DATABASE_URL", "sqlite+aiosqlite:///")
    assert result.returncode == 2


def test_an_unreachable_or_missing_database_is_reported_in_one_line(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are notes, not a database\n", encoding="utf-8")
    cases = {
        "postgresql://postgres@127.0.0.1:1/test": "127.0.0.1:1",
        f"sqlite:///{not_a_database}": "not a database",
        "sqlite:////proc/no-such-folder/x.db": "no-such-folder",
    }
    for url, reason in cases.items():
        result = run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
        assert_one_clear_line(result, "cannot use the database", reason)
        assert result.returncode == 3


def test_a_password_never_appears_in_a_database_error(tmp_path: Path) -> None:
    url = "postgresql://postgres:s3cret-pw@127.0.0.1:1/test"
    result = run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert_one_clear_line(result, "cannot use the database")
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_data_dir_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    result = run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, DATA_DIR="/proc/no-such-folder")
    assert_one_clear_line(result, "cannot use the database", "/proc/no-such-folder")


def test_an_unknown_log_level_is_refused(tmp_path: Path) -> None:
    assert_one_clear_line(
        run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, LOG_LEVEL="LOUD"), "LOG_LEVEL"
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (f'TELEGRAM_BOT_TOKEN="{TOKEN}\n', ".env line 1: cannot read"),
        (f"TELEGRAM_BOT_TOKEN={TOKEN}\nDATABASE_URL\n", ".env line 2: DATABASE_URL has no"),
        (f"TELEGRAM_BOT_TOKEN={TOKEN}\njust some words\n", ".env line 2: cannot read"),
    ],
    ids=["unclosed quote", "no value", "not a setting"],
)
def test_an_unreadable_env_line_is_named_not_skipped(
    tmp_path: Path, content: str, needle: str
) -> None:
    """python-dotenv would skip such a line with a warning, and start without that setting."""
    (tmp_path / ".env").write_text(content, encoding="utf-8")
    result = run_bot(tmp_path)
    assert_one_clear_line(result, needle)
    assert result.returncode == 2


def test_an_env_that_is_a_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    assert_one_clear_line(run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN), ".env is not a file")


def test_the_example_settings_file_is_a_valid_env_file() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    assert env_file_problems(example) == []
    settings = load_settings(example)
    assert settings.database.startswith("sqlite+aiosqlite:///")
