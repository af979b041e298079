"""Configuration: the one place that reads the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.interview.questionnaire import Language

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Bot API tokens look like "123456789:AAH…" (a numeric bot id, a colon, 30+ url-safe chars).
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


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
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read {env_file}: {exc}") from None
