"""Configuration: the one place that reads the environment and `.env`."""

from __future__ import annotations

import difflib
import io
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv.parser import Binding, parse_stream
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.interview.questionnaire import Language

PROJECT_DIR = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

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
_LLM_URL_FORM = "expected an http:// or https:// URL such as http://127.0.0.1:11434/v1"


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
    # Off only for benchmarks or a local Bot API server without Telegram's limits behind it.
    rate_limiter: bool = True
    # The grounded rewrite: any OpenAI-compatible endpoint; unset, drafts keep the template.
    llm_base_url: str | None = None
    # Local servers (Ollama, vLLM without --api-key) need none.
    llm_api_key: SecretStr | None = None
    # No default: every server names its models differently (a wrong name is a 404 at the
    # first rewrite), so it is required once LLM_BASE_URL is set.
    llm_model: str = Field(default="", validate_default=True)
    # Seconds for one section; the upper bound catches milliseconds typed by mistake.
    llm_timeout: float = Field(default=60, gt=0, le=3600)
    # Sections rewritten at the same time, across all cadres.
    llm_concurrency: int = Field(default=2, ge=1, le=16)

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

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        """An http(s) URL; a bare host gets `/v1`, where Ollama, vLLM and llama.cpp serve."""
        value = (value or "").strip().rstrip("/")
        if not value:
            return None
        url = urlsplit(value)
        try:
            port_ok = url.port is None or url.port > 0
        except ValueError:  # not a number, or out of range
            port_ok = False
        if url.scheme not in ("http", "https") or not url.hostname or not port_ok:
            raise ValueError(_LLM_URL_FORM)
        if any(char.isspace() for char in value) or url.query or url.fragment:
            raise ValueError(_LLM_URL_FORM)
        return value if url.path else value + "/v1"

    @field_validator("llm_api_key")
    @classmethod
    def _llm_key(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("llm_model")
    @classmethod
    def _llm_model_named(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value and info.data.get("llm_base_url"):
            raise ValueError(
                "must name the model the endpoint serves when LLM_BASE_URL is set "
                "(e.g. qwen2.5:7b-instruct for Ollama)"
            )
        return value

    @property
    def llm_host(self) -> str | None:
        """The rewrite endpoint's host name, to show the cadre where the text goes."""
        return urlsplit(self.llm_base_url).hostname if self.llm_base_url else None

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
                "(see .env.example); to try it without a token: python -m bot demo"
            )
        if not _TOKEN.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected "
                "'<digits>:<30+ letters, digits, _ or ->'); copy it again from @BotFather."
            )
        return token


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; errors become one ConfigError line.

    A name one slip away from a setting's is an error, since the setting it was meant for
    would silently be unset; other names in `.env` are other tools', named in one warning.
    """
    report = read_env_file(Path(env_file)) if env_file is not None else EnvFileReport()
    problems = [*report.problems, *misspelt_environment_names(os.environ)]
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
    if report.other_names:
        log.warning(
            "%s: ignoring names that are not settings: %s", env_file, ", ".join(report.other_names)
        )
    return settings


@dataclass(frozen=True)
class EnvFileReport:
    """What a settings file holds besides our settings."""

    problems: list[str] = field(default_factory=list)
    """Lines that stop the bot: unreadable, or a setting's name with a typo."""
    other_names: list[str] = field(default_factory=list)
    """Names of other tools' variables, which are ignored."""


def env_file_problems(path: Path) -> list[str]:
    """What is wrong with the lines of a settings file (nothing if there is no file)."""
    return read_env_file(path).problems


def read_env_file(path: Path) -> EnvFileReport:
    """Check the lines of a settings file (nothing to say if there is no file).

    python-dotenv skips a line it cannot parse with a warning, so a setting written there
    (an unclosed quote around the token, say) would silently be missing. A line is named
    by its number and its variable, never by its text: the text may hold the token.
    """
    bindings = _env_file_bindings(path)
    if isinstance(bindings, str):
        return EnvFileReport(problems=[bindings])
    problems: list[str] = []
    others: set[str] = set()
    for binding in bindings:
        key, line = binding.key, _line_number(binding)
        if binding.error:
            problems.append(f"{path} line {line}: {_why_unreadable(binding.original.string)}")
        elif key is None:
            continue  # a comment or the blank end of the file
        elif not _NAME.fullmatch(key):
            problems.append(f"{path} line {line}: cannot read this line, expected NAME=value")
        elif binding.value is None:
            problems.append(f"{path} line {line}: {key} has no '=value'")
        elif meant := _meant_setting(key):
            problems.append(f"{path} line {line}: unknown setting {key}, did you mean {meant}?")
        elif key.upper() not in _SETTING_NAMES:
            others.add(key)
    return EnvFileReport(problems=problems, other_names=sorted(others))


def misspelt_environment_names(environ: Mapping[str, str]) -> list[str]:
    """Environment variables that look like a setting's name with a typo.

    The environment is shared with everything on the machine, so only names that begin
    with a setting's first word (`DATABASE_…`, `TELEGRAM_…`) are looked at, and the
    others are not warned about.
    """
    return [
        f"unknown setting {name} in the environment, did you mean {meant}?"
        for name in sorted(environ)
        if name.upper().startswith(_SETTING_PREFIXES) and (meant := _meant_setting(name))
    ]


_SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
_SETTING_PREFIXES = tuple(sorted({name.split("_")[0] + "_" for name in _SETTING_NAMES}))
# What a variable's name may look like; anything else in its place (a pasted token, say)
# is not shown back.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NAME_EQUALS = re.compile(rf"(?:export\s+)?({_NAME.pattern})\s*=\s*(['\"]?)(.*)")


def _meant_setting(name: str) -> str | None:
    """The setting `name` is one slip away from, if any: a letter missing, added, wrong,
    or two swapped (difflib leaves at most two characters unmatched). A name holding a
    setting's whole name (`TEST_DATABASE_URL`) is another tool's, not a typo."""
    upper = name.upper()
    if any(known in upper for known in _SETTING_NAMES):
        return None
    for known in difflib.get_close_matches(upper, _SETTING_NAMES, n=3, cutoff=0.7):
        matched = sum(
            block.size
            for block in difflib.SequenceMatcher(None, upper, known).get_matching_blocks()
        )
        if len(upper) + len(known) - 2 * matched <= 2:
            return known
    return None


def _env_file_bindings(path: Path) -> list[Binding] | str:
    """The parsed lines of a settings file ([] if there is none), or what stops reading it."""
    if not path.exists():
        return []
    if not path.is_file():
        return f"{path} is not a file"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    return list(parse_stream(io.StringIO(text)))


def _line_number(binding: Binding) -> int:
    """The line a binding's text starts on: dotenv counts from the blank lines before it."""
    text = binding.original.string
    blank = text[: len(text) - len(text.lstrip())]
    return binding.original.line + len(re.findall(r"\r\n|\n|\r", blank))


def _why_unreadable(text: str) -> str:
    """Why dotenv could not read this line, naming at most its variable."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    found = _NAME_EQUALS.fullmatch(first.strip())
    if found is None:
        return "cannot read this line, expected NAME=value"
    name, quote, rest = found.groups()
    if quote and quote not in rest.replace("\\" + quote, ""):
        return f"{name} has an unclosed quote"
    return f"cannot read the value of {name}, expected NAME=value"
