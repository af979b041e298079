"""Command line: `python -m bot [run|migrate|demo]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from telegram.error import InvalidToken, NetworkError

from bot.config import ConfigError, Settings, async_database_url, load_settings
from bot.interview.questionnaire import QuestionnaireError
from bot.render.messages import MessagesError
from bot.review.rules import RuleBookError
from bot.rewrite.errors import RewritePromptsError
from bot.store.db import DatabaseUnavailable
from bot.store.schema import SchemaOutdated
from bot.telegram.polling import PollingFailed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Telegram bot (the default)")
    sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    demo = sub.add_parser("demo", help="the interview in this terminal, no Telegram needed")
    demo.add_argument("--lang", choices=["zh", "en"], default=None)
    demo.add_argument(
        "--out", type=Path, default=Path("drafts"), help="folder for the .docx (default: ./drafts)"
    )
    demo.add_argument("--db", default=None, help="database URL (default: the configured one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    # Before the settings are read, so that their own warnings are logged like the rest.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(args.env_file)
        # In the demo the terminal is the user's screen: only warnings belong there.
        logging.getLogger().setLevel("WARNING" if args.command == "demo" else settings.log_level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"debrief: {exc}", file=sys.stderr)
        return 2
    except (
        SchemaOutdated,
        DatabaseUnavailable,
        QuestionnaireError,
        MessagesError,
        RuleBookError,
        RewritePromptsError,
    ) as exc:
        print(f"debrief: {exc}", file=sys.stderr)
        return 3
    except InvalidToken:
        print(
            "debrief: Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather.",
            file=sys.stderr,
        )
        return 2
    except NetworkError as exc:
        print(
            f"debrief: cannot reach the Bot API ({exc}); check TELEGRAM_API_BASE_URL "
            "and the network.",
            file=sys.stderr,
        )
        return 4
    except PollingFailed as exc:
        print(f"debrief: polling stopped: {exc}; see the log above.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from bot.store.db import Database
        from bot.store.schema import current_revision, upgrade

        db = Database(settings.database)
        try:
            await upgrade(db)
            print(f"database at revision {await current_revision(db)}: {settings.database}")
        finally:
            await db.dispose()
        return 0
    if args.command == "demo":
        from bot.console.demo import run_demo

        try:
            database_url = async_database_url(args.db) if args.db else None
        except ValueError as exc:
            raise ConfigError(f"--db: {exc}") from None
        return await run_demo(
            settings, language=args.lang, out_dir=args.out, database_url=database_url
        )
    from bot.telegram.runner import run_polling

    await run_polling(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
