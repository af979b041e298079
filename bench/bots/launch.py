"""What both comparator bots share: the builder from the same environment as our bot."""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder


def builder() -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL as for our bot; RATE_LIMITER=on adds
    PTB's AIORateLimiter (30 calls/s); LOG_LEVEL as usual."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="telegram")
    base = os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot").rstrip("/")
    built = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(base if base.endswith("/bot") else base + "/bot")
    )
    if os.environ.get("RATE_LIMITER", "on").lower() in ("on", "true", "1", "yes"):
        built = built.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    return built


def poll(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """`run_polling` with POLL_TIMEOUT as the long-poll timeout."""
    app.run_polling(
        timeout=int(os.environ.get("POLL_TIMEOUT", "10")), allowed_updates=Update.ALL_TYPES
    )
