"""Configuration mistakes give one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR, ConfigError, Settings, env_file_problems, load_settings
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


def test_a_missing_token_says_where_to_put_it_and_how_to_try_the_demo(tmp_path: Path) -> None:
    assert_one_clear_line(
        run_bot(tmp_path), "TELEGRAM_BOT_TOKEN is not set", ".env", "python -m bot demo"
    )


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
        (f'TELEGRAM_BOT_TOKEN="{TOKEN}\n', ".env line 1: TELEGRAM_BOT_TOKEN has an unclosed quote"),
        (f"TELEGRAM_BOT_TOKEN={TOKEN}\nDATABASE_URL\n", ".env line 2: DATABASE_URL has no"),
        (f"TELEGRAM_BOT_TOKEN={TOKEN}\njust some words\n", ".env line 2: cannot read this line"),
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


SECRET = TOKEN.partition(":")[2][:8]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (f"# the bot\n\nTELEGRAM_BOT_TOKEN='{TOKEN}\n", ".env line 3: TELEGRAM_BOT_TOKEN has an"),
        (
            f'\n\nexport TELEGRAM_BOT_TOKEN = "{TOKEN}" {SECRET}\n',
            ".env line 3: cannot read the value of TELEGRAM_BOT_TOKEN",
        ),
        (f"LOG_LEVEL=INFO\n{TOKEN}\n", ".env line 2: cannot read this line, expected NAME=value"),
        (
            f"LOG_LEVEL=INFO\n\n{TOKEN} {SECRET}\n",
            ".env line 3: cannot read this line, expected NAME=value",
        ),
    ],
    ids=["unclosed quote", "text after the quote", "a token alone", "words"],
)
def test_an_unreadable_env_line_is_named_by_number_and_variable_never_by_its_text(
    tmp_path: Path, content: str, needle: str
) -> None:
    """The line may hold the token, and error messages end up in logs and chats."""
    (tmp_path / ".env").write_text(content, encoding="utf-8")
    result = run_bot(tmp_path)
    assert_one_clear_line(result, needle)
    assert result.returncode == 2
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("DATABASE_ULR", "DATABASE_URL"),
        ("database_uri", "DATABASE_URL"),
        ("LOGLEVEL", "LOG_LEVEL"),
        ("DEFAULT_TIME_ZONE", "DEFAULT_TIMEZONE"),
    ],
)
def test_a_setting_name_with_a_typo_in_the_env_file_is_refused(
    tmp_path: Path, name: str, meant: str
) -> None:
    """Ignored, the typo would leave the setting at its default without a word."""
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_API_BASE_URL=http://127.0.0.1:9/bot\n"
        f"{name}=postgresql://u:pw@db.example/debrief\n",
        encoding="utf-8",
    )
    result = run_bot(tmp_path)
    assert_one_clear_line(result, f".env line 3: unknown setting {name}, did you mean {meant}?")
    assert result.returncode == 2
    assert "cannot reach" not in result.stderr


def test_a_setting_name_with_a_typo_in_the_environment_is_refused(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
        DATABASE_ULR="postgresql://u:pw@db.example/debrief",
    )
    assert_one_clear_line(
        result, "unknown setting DATABASE_ULR in the environment, did you mean DATABASE_URL?"
    )
    assert result.returncode == 2


def test_other_programs_variables_in_the_environment_are_left_alone(tmp_path: Path) -> None:
    """The environment is shared with the whole machine: only names that begin like a
    setting's and are one slip from it are refused, and none is warned about."""
    result = run_bot(
        tmp_path,
        LOGLEVEL="debug",  # one slip from LOG_LEVEL, but not in our LOG_ family
        TEST_DATABASE_URL="sqlite:///x.db",  # holds DATABASE_URL whole: another name
        DATABASE_USER="postgres",  # three letters from DATABASE_URL
        TELEGRAM_API_ID="12345",
    )
    assert_one_clear_line(result, "TELEGRAM_BOT_TOKEN is not set")
    assert "WARNING" not in result.stderr, result.stderr


def test_other_names_in_the_env_file_get_one_warning_and_the_bot_starts(tmp_path: Path) -> None:
    """A .env file is often shared with other tools (docker compose, a local Bot API server)."""
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_API_BASE_URL=http://127.0.0.1:9/bot\n"
        "PGHOST=db\nPGPASSWORD=pg-secret\nTELEGRAM_API_ID=12345\nDATABASE_USER=postgres\n"
        "TEST_DATABASE_URL=sqlite:///x.db\nlog_level=INFO\n",
        encoding="utf-8",
    )
    result = run_bot(tmp_path)
    # It got as far as calling Telegram: nothing in the file stopped it.
    assert_one_clear_line(result, "cannot reach the Bot API")
    warnings = [line for line in result.stderr.splitlines() if "PGHOST" in line]
    assert len(warnings) == 1, result.stderr
    assert "WARNING" in warnings[0]
    named = warnings[0].partition("not settings: ")[2]
    assert named == "DATABASE_USER, PGHOST, PGPASSWORD, TELEGRAM_API_ID, TEST_DATABASE_URL"
    assert "pg-secret" not in result.stderr + result.stdout


def readme_commands() -> list[str]:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)\n```", readme, flags=re.DOTALL)


def test_the_readme_opens_with_a_command_that_works_without_a_token(tmp_path: Path) -> None:
    """A newcomer has no token yet: the first command must not end in an error."""
    install = "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
    first = readme_commands()[0]
    assert first.startswith(install), first
    words = shlex.split(first.removeprefix(install))
    # NAME=value words before the program set its environment, as the shell would.
    env = dict(word.split("=", 1) for word in itertools.takewhile(lambda w: "=" in w, words))
    program, *args = words[len(env) :]
    assert program == ".venv/bin/python"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env={**clean, "DATA_DIR": str(tmp_path), **env},  # the demo's SQLite file goes there
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "/1 中文" in result.stdout


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    ci = (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci


def test_an_env_that_is_a_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    assert_one_clear_line(run_bot(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN), ".env is not a file")


def test_the_example_settings_file_is_a_valid_env_file() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    assert env_file_problems(example) == []
    settings = load_settings(example)
    assert settings.database.startswith("sqlite+aiosqlite:///")


def test_the_rewrite_is_off_until_an_endpoint_is_set() -> None:
    settings = load_settings(None)
    assert settings.llm_base_url is None and settings.llm_host is None
    assert settings.llm_api_key is None
    assert settings.llm_model == ""
    assert (settings.llm_timeout, settings.llm_concurrency) == (60, 2)


def test_empty_llm_settings_mean_unset() -> None:
    settings = load_settings(None, llm_base_url="  ", llm_api_key="", llm_model="")
    assert settings.llm_base_url is None and settings.llm_api_key is None


@pytest.mark.parametrize(
    ("given", "used", "host"),
    [
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/v1", "127.0.0.1"),
        ("http://gpu-box:8000/", "http://gpu-box:8000/v1", "gpu-box"),
        ("https://llm.example.cn/v1/", "https://llm.example.cn/v1", "llm.example.cn"),
        (
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "dashscope.aliyuncs.com",
        ),
        ("http://user:secret@10.0.0.5:8080/v1", "http://user:secret@10.0.0.5:8080/v1", "10.0.0.5"),
    ],
)
def test_an_llm_url_without_a_path_gets_v1_and_its_host_is_shown(
    given: str, used: str, host: str
) -> None:
    """Ollama, vLLM and llama.cpp serve under /v1; the host is what the cadre's button names."""
    settings = load_settings(None, llm_base_url=given, llm_model="qwen2.5:7b-instruct")
    assert (settings.llm_base_url, settings.llm_host) == (used, host)


@pytest.mark.parametrize(
    "url",
    ["localhost:11434", "ftp://llm.example/v1", "http://", "http://h:99999/v1", "http://a b/v1"],
)
def test_an_llm_url_we_cannot_use_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(ConfigError, match="LLM_BASE_URL: expected an http:// or https:// URL"):
        load_settings(None, llm_base_url=url, llm_model="m")


def test_an_llm_url_with_credentials_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, llm_base_url="htp://user:s3cret-pw@host/v1", llm_model="m")
    assert "s3cret-pw" not in str(caught.value)


def test_an_endpoint_without_a_model_name_is_refused() -> None:
    """Every server names its models its own way: a guessed default would fail later."""
    with pytest.raises(ConfigError, match="LLM_MODEL: must name the model") as caught:
        load_settings(None, llm_base_url="http://127.0.0.1:11434")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"llm_timeout": 0}, "LLM_TIMEOUT"),
        ({"llm_timeout": -5}, "LLM_TIMEOUT"),
        ({"llm_timeout": 60000}, "LLM_TIMEOUT"),  # milliseconds by mistake
        ({"llm_timeout": "soon"}, "LLM_TIMEOUT"),
        ({"llm_concurrency": 0}, "LLM_CONCURRENCY"),
        ({"llm_concurrency": 17}, "LLM_CONCURRENCY"),
    ],
)
def test_llm_limits_out_of_range_are_refused_in_one_line(
    overrides: dict[str, object], setting: str
) -> None:
    with pytest.raises(ConfigError, match=f"invalid configuration: {setting}: ") as caught:
        load_settings(None, **overrides)
    assert "\n" not in str(caught.value)


def test_an_llm_setting_name_with_a_typo_is_named(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("LLM_BASE_URI=http://127.0.0.1:11434/v1\nLLM_MODLE=qwen\n", encoding="utf-8")
    assert env_file_problems(env) == [
        f"{env} line 1: unknown setting LLM_BASE_URI, did you mean LLM_BASE_URL?",
        f"{env} line 2: unknown setting LLM_MODLE, did you mean LLM_MODEL?",
    ]


def test_a_broken_rule_file_is_reported_in_one_line(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_DIR / "prompts", prompts)
    rules = prompts / "annual" / "zh" / "review.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(
            "detector: lacks_figure", "detector: lacks_fgure"
        ),
        encoding="utf-8",
    )
    result = run_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        PROMPTS_DIR=str(prompts),
    )
    assert_one_clear_line(result, "review.yaml", "lacks_fgure")
    assert result.returncode == 3
