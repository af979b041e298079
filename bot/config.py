"""Configuration: the one place that reads the environment and `.env`."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.interview.questionnaire import Language

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Bot API tokens look like "123456789:AAH…" (a numeric bot id, a colon, 30+ url-safe chars).
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASE_FORMS = (
    "use sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user:password@host/db"
)
# The drivers we ship, by backend; a URL naming no driver (or a sync one) gets ours.
_ASYNC_DRIVERS = {
    "sqlite": ("sqlite+aiosqlite", {"", "pysqlite", "aiosqlite"}),
    "postgresql": ("postgresql+asyncpg", {"", "psycopg2", "psycopg", "asyncpg"}),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


def async_database_url(value: str) -> str:
    """The URL with our async driver; the usual spellings (postgres://, sqlite:///) are
    accepted. ValueError, in one line, for anything we cannot use."""
    value = value.strip()
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"not a database URL; {_DATABASE_FORMS}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in _ASYNC_DRIVERS or driver not in _ASYNC_DRIVERS[backend][1]:
        raise ValueError(f"{url.drivername} is not supported; {_DATABASE_FORMS}")
    return url.set(drivername=_ASYNC_DRIVERS[backend][0]).render_as_string(hide_password=False)


class Settings(BaseSettings):
    """Every setting of the bot; see `.env.example` for what each one means."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = ""
    default_language: Language = "zh"
    default_timezone: str = "Asia/Shanghai"
    auto_migrate: bool = True
    prompts_dir: Path = PROJECT_DIR / "prompts"
    data_dir: Path = PROJECT_DIR / "data"
    poll_timeout: int = Field(default=30, ge=0, le=50)
    max_answer_chars: int = Field(default=4096, ge=100, le=20000)
    log_level: str = "INFO"

    @field_validator("telegram_api_base_url")
    @classmethod
    def _bot_api_base(cls, value: str) -> str:
        """PTB appends the token directly, so the URL must end in `/bot`."""
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/bot") else value + "/bot"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value) if value.strip() else ""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.strip().upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def database(self) -> str:
        """The SQLAlchemy URL; a SQLite file under data_dir when DATABASE_URL is unset."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'debrief.db'}"

    def require_token(self) -> str:
        """The bot token, or ConfigError with a one-line explanation."""
        token = self.telegram_bot_token.get_secret_value().strip()
        if not token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example)."
            )
        if not _TOKEN.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected "
                "'<digits>:<30+ letters, digits, _ or ->'); copy it again from @BotFather."
            )
        return token


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; errors become one ConfigError line."""
    problems = env_file_problems(Path(env_file)) if env_file is not None else []
    # We report unreadable lines ourselves, with the file's name; dotenv's warning would
    # only repeat them without it.
    logging.getLogger("dotenv.main").setLevel(logging.ERROR)
    try:
        settings = Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems += [
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: "
            + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        ]
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read {env_file}: {exc}") from None
    if problems:
        raise ConfigError(f"invalid configuration: {'; '.join(problems)}")
    return settings


def env_file_problems(path: Path) -> list[str]:
    """What is wrong with the lines of a settings file (nothing if there is no file).

    python-dotenv skips a line it cannot parse with a warning, so a setting written there
    (an unclosed quote around the token, say) would silently be missing.
    """
    if not path.exists():
        return []
    if not path.is_file():
        return [f"{path} is not a file"]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [f"{path} is not UTF-8 text"]
    except OSError as exc:
        return [f"cannot read {path}: {exc.strerror}"]
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            shown = binding.original.string.strip()[:40]
            problems.append(f"{path} line {line}: cannot read {shown!r}, expected NAME=value")
        elif binding.key is not None and binding.value is None:
            problems.append(f"{path} line {line}: {binding.key} has no '=value'")
    return problems
