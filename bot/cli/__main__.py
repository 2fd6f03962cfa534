"""`python -m bot.cli COMMAND …`: the operator commands, with .env loaded as the bot loads it."""

import os
import sys

from dotenv import load_dotenv

from bot.cli import main

if __name__ == "__main__":
    load_dotenv(os.environ.get("DIALER_ENV_FILE", ".env"))
    sys.exit(main(sys.argv[1:]))
