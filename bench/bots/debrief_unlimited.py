"""`python -m bot` with PTB's rate limiter off, for capacity figures, until the bot has a
setting for it (the bench uses RATE_LIMITER=off when bot/config.py knows it)."""

from __future__ import annotations

import sys
from functools import partial

import bot.telegram.runner as runner
from bot.__main__ import main

runner.build_application = partial(runner.build_application, rate_limit=False)  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(main())
