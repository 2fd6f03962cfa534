"""The Workflow Builder step "Place a call": rings the phones of whoever started the run.

Slack sends `function_executed` for each run of the step. Bolt acknowledges it at once (the
function listener's auto-ack) and runs this handler after the ack; the call then takes the
same path as `/dial`. The caller is always the run's interactor — the person whose click or
form submission started it, as Slack attests in the `interactivity` input — never a user
named in the workflow, so a workflow's author cannot ring a colleague's phones at will. The
step is finished exactly once: `complete` with the outputs when the PBX accepted the call,
`fail` with the readable sentence otherwise; the interactor is told the same in a DM.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.complete.async_complete import AsyncComplete
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.facts import Facts
from bot.domain.ids import USER_ID
from bot.domain.outcomes import Outcome
from bot.services.dialing import Answer, CallRequest, Surface
from bot.slack.deps import Deps
from bot.slack.replies import blocks_for, direct_message, words
from bot.slack.text import callers, sentence

log = logging.getLogger(__name__)

#: The step's callback_id, as manifest.yml declares it under `functions`.
PLACE_CALL = "place_call"
#: Prefix of the step's runs in the store's table of handled requests.
CLAIM_PREFIX = "function_execution:"


def interactor(inputs: dict[str, Any]) -> str | None:
    """Who started this run, as Slack attests in the interactivity input; None if no one did."""
    interactivity = inputs.get("interactivity")
    person = interactivity.get("interactor") if isinstance(interactivity, dict) else None
    user_id = person.get("id") if isinstance(person, dict) else None
    if isinstance(user_id, str) and USER_ID.fullmatch(user_id):
        return user_id
    return None


def number_input(inputs: dict[str, Any]) -> str:
    """The step's `number` input, read as `/dial` reads its text."""
    number = inputs.get("number")
    return number.strip() if isinstance(number, str) else ""


def run_context(event: dict[str, Any]) -> str:
    """The run's ids for the audit row: the workflow's run and this step's run."""
    workflow = event.get("workflow_execution_id") or "-"
    return f"workflow={workflow} execution={event.get('function_execution_id') or '-'}"


def step_outputs(answer: Answer, caller: str) -> dict[str, str]:
    """The outputs manifest.yml declares for a placed call."""
    return {
        "destination": answer.destination or "",
        "extension": answer.facts.extension,
        "message": words(answer, plain=True),
        "caller": caller,
    }


class StepReplies:
    """Finishes the step once — complete if placed, fail otherwise — and DMs the interactor."""

    def __init__(
        self, complete: AsyncComplete, fail: AsyncFail, client: AsyncWebClient, user_id: str
    ) -> None:
        self._complete = complete
        self._fail = fail
        self._client = client
        self._user_id = user_id
        self.ended = False

    async def refused(self, answer: Answer) -> None:
        """Nothing was sent: fail the step with why."""
        await self._end(answer)

    async def calling(self, answer: Answer) -> None:
        """Nothing to show: the run is in progress in Slack until the PBX answers."""

    async def finished(self, answer: Answer) -> None:
        """The PBX answered: complete the step if the call was placed, fail it if not."""
        await self._end(answer)

    async def fail_with(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Fail the step with a sentence of the surface's own, and tell the interactor."""
        if self.ended:
            return
        self.ended = True
        await _fail(self._fail, text)
        await direct_message(self._client, self._user_id, text, blocks)

    async def _end(self, answer: Answer) -> None:
        if self.ended:
            return
        self.ended = True
        if answer.placed:
            await _complete(self._complete, step_outputs(answer, self._user_id))
        else:
            await _fail(self._fail, words(answer, plain=True))
        await direct_message(self._client, self._user_id, words(answer), blocks_for(answer))


async def _complete(complete: AsyncComplete, outputs: dict[str, str]) -> None:
    try:
        await complete(outputs=outputs)
    except Exception as error:
        log.warning("could not complete a place_call run: %s", type(error).__name__)


async def _fail(fail: AsyncFail, error: str) -> None:
    try:
        await fail(error=error)
    except Exception as failure:
        log.warning("could not fail a place_call run: %s", type(failure).__name__)


async def handle_place_call(
    event: dict, inputs: dict, complete: AsyncComplete, fail: AsyncFail, *, deps: Deps
) -> None:
    """One run of the step: claimed once, refused or dialed for the run's interactor."""
    execution_id = str(event.get("function_execution_id") or "")
    user_id = interactor(inputs)
    claimed = await deps.dialing.claim(CLAIM_PREFIX + execution_id)
    if claimed is False:
        log.info("place_call run %s already handled; this delivery is ignored", execution_id)
        return
    if user_id is None:  # audited as no one's: whose phone would ring is the point
        nobody = CallRequest("", "", Surface.WORKFLOW, context=run_context(event))
        refused = await deps.dialing.refuse(nobody, Outcome.REFUSED_NO_INTERACTOR)
        await _fail(fail, words(refused, plain=True))
        return
    replies = StepReplies(complete, fail, deps.client, user_id)
    if isinstance(claimed, Answer):
        await replies.refused(claimed)
        return
    text = number_input(inputs)
    request = CallRequest(user_id, text, Surface.WORKFLOW, context=run_context(event))
    try:
        if not text:
            await deps.dialing.refuse(request, Outcome.REFUSED_NO_NUMBER)
            await replies.fail_with(callers.workflow_no_number())
        else:
            await deps.dialing.dial(request, replies)
    except Exception:
        log.exception("place_call run %s failed unexpectedly", execution_id)
        await replies.fail_with(text_of(Outcome.ERROR))


def text_of(outcome: Outcome) -> str:
    """An outcome's sentence with no facts to tell (a failure of the bot's own)."""
    return sentence(outcome, Facts())


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the Place a call step (auto-acked: the call is placed after the ack).

    DMs go out with the bot's own client (deps.client), like its other DMs: the step's own
    client carries the run's workflow token, good only for completing the run.
    """
    app.function(PLACE_CALL)(partial(handle_place_call, deps=deps))
