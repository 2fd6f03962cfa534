"""What every listener may use, handed to each `register(app, deps)` by the one app builder."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.services.dialing import DialService
from bot.services.directory_links import DirectoryLinks
from bot.services.linking import LinkService
from bot.services.receipts import ReceiptService
from bot.slack.admins import AdminDirectory
from bot.slack.home import HomePublisher
from bot.slack.profiles import SlackProfiles


@dataclass(frozen=True)
class Deps:
    """The services and Slack-side helpers the listeners share; built once by bot.wiring."""

    settings: Settings
    dialing: DialService
    linking: LinkService
    admins: AdminDirectory
    home: HomePublisher
    #: The bot's own Web API client (its token): DMs and Home go out as the app.
    client: AsyncWebClient
    #: Callers' answers on their calls' receipts, and the admins' notices.
    receipts: ReceiptService
    #: Links from the company directory (DIALER_EXTENSION_FIELD); None when it is unset.
    directory: DirectoryLinks | None = None
    profiles: SlackProfiles | None = None
