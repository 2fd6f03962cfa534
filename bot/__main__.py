"""Start-up: load .env, run an operator command, or read the settings and run the bot."""

from __future__ import annotations

import asyncio
import os
import sys

from dotenv import load_dotenv

from bot import cli, logs
from bot.config import SECRET_NAMES, SettingsError, load_settings
from bot.runtime.process import StartupError, run

#: Read once into Settings, then dropped from the environment so no library or child
#: process picks them up (Bolt would otherwise also read SLACK_BOT_TOKEN on its own).
SECRET_VARIABLES = SECRET_NAMES


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bot [COMMAND | --version]`: exit 2, one line, on bad settings."""
    load_dotenv(os.environ.get("DIALER_ENV_FILE", ".env"))
    args = sys.argv[1:] if argv is None else argv
    if args:  # an operator command (check, links …, --help); argparse explains a wrong one
        return cli.main(args, prog=cli.invoked_as(sys.argv[0]))
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:  # every bad setting, one line each
        for problem in error.problems:
            print(f"webfones-dialer: {problem}", file=sys.stderr)
        return 2
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    logs.configure(settings.secrets, settings.log_level, settings.log_format)
    try:
        asyncio.run(run(settings))
    except StartupError as error:
        print(f"webfones-dialer: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
