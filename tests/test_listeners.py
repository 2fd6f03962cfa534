"""Listener handlers as plain functions: called with a mock ack and stand-in services."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome
from bot.services.dialing import Answer, CallRequest, Surface
from bot.services.linking import EmailProblem, EmailTrouble, Linked
from bot.slack import views
from bot.slack.listeners import dial, dial_link, link_requests, modal, workflow
from bot.slack.text import admins as admin_text
from bot.slack.text import callers
from bot.store import Link, StoreFailed


class Dialing:
    """A stand-in dialing service that refuses every call as unlinked, and records requests."""

    def __init__(self, claim: bool | Answer = True) -> None:
        self.requests: list[CallRequest] = []
        self._claim = claim

    async def dial(self, request: CallRequest, replies: Any) -> Answer:
        self.requests.append(request)
        answer = Answer(Outcome.REFUSED_UNLINKED, Facts(admins=("UADMIN001",)))
        await replies.refused(answer)
        return answer

    async def claim(self, key: str) -> bool | Answer:
        return self._claim

    async def refuse(self, request: CallRequest, outcome: Outcome) -> Answer:
        self.requests.append(request)
        return Answer(outcome, Facts())


def deps(**parts: Any) -> Any:
    """Only what a handler under test touches; anything else would fail loudly."""
    return SimpleNamespace(settings=SimpleNamespace(admins=frozenset({"UADMIN001"})), **parts)


async def test_dial_without_text_answers_how_to_dial() -> None:
    ack = AsyncMock()
    await dial.handle_dial(ack, AsyncMock(), {"user_id": "U1", "text": " "}, deps=deps())
    ack.assert_awaited_once_with(text=callers.DIAL_USAGE, response_type="ephemeral")


async def test_dial_hands_the_text_to_the_service_and_acks_its_refusal_with_a_next_step() -> None:
    ack, service = AsyncMock(), Dialing()
    command = {"user_id": "U1", "text": "580-867-5309"}
    await dial.handle_dial(ack, AsyncMock(), command, deps=deps(dialing=service))
    assert service.requests == [CallRequest("U1", "580-867-5309", Surface.SLASH)]
    sent = ack.await_args.kwargs
    assert "don't have a phone extension linked" in sent["text"]
    assert sent["blocks"][1]["elements"][0]["action_id"] == views.REQUEST_LINK


async def test_an_empty_dial_form_is_answered_under_its_field() -> None:
    ack, view = AsyncMock(), {"id": "V1", "state": {"values": {}}}
    await modal.handle_dial_submission(ack, {"user": {"id": "U1"}}, view, deps=deps())
    ack.assert_awaited_once_with(
        response_action="errors", errors={views.NUMBER_BLOCK: callers.TYPE_A_NUMBER}
    )


async def test_a_dial_form_refusal_is_plain_text_under_the_field() -> None:
    ack, service = AsyncMock(), Dialing()
    view = {"id": "V1", "state": {"values": {"number": {"number_input": {"value": "310"}}}}}
    await modal.handle_dial_submission(
        ack, {"user": {"id": "U1"}}, view, deps=deps(dialing=service, client=AsyncMock())
    )
    error = ack.await_args.kwargs["errors"][views.NUMBER_BLOCK]
    assert "linked" in error and "`" not in error and "<@" not in error


async def test_dial_link_help_and_nonsense_are_answered_without_any_service() -> None:
    ack = AsyncMock()
    await dial_link.handle_dial_link(ack, {"user_id": "U1", "text": "help"}, deps=deps())
    ack.assert_awaited_once_with(text=admin_text.LINK_USAGE, response_type="ephemeral")
    ack = AsyncMock()
    await dial_link.handle_dial_link(ack, {"user_id": "U1", "text": "alice 309"}, deps=deps())
    assert "I didn't understand" in ack.await_args.kwargs["text"]


async def test_dial_link_by_a_non_admin_changes_nothing() -> None:
    ack, linking = AsyncMock(), AsyncMock()
    admins = SimpleNamespace(is_admin=AsyncMock(return_value=False))
    command = {"user_id": "U1", "text": "<@U0456EFGH> 309"}
    await dial_link.handle_dial_link(ack, command, deps=deps(admins=admins, linking=linking))
    assert "Only an admin" in ack.await_args.kwargs["text"]
    linking.link.assert_not_awaited()


async def test_dial_link_by_email_links_the_person_the_directory_finds() -> None:
    ack, linking = AsyncMock(), AsyncMock()
    linking.user_for_email.return_value = "U2"
    linking.link.return_value = Linked("U2", "309", None, [])
    admins, home = SimpleNamespace(is_admin=AsyncMock(return_value=True)), AsyncMock()
    command = {"user_id": "UADMIN001", "text": "bob@example.com 309"}
    await dial_link.handle_dial_link(
        ack, command, deps=deps(admins=admins, linking=linking, home=home)
    )
    linking.link.assert_awaited_once_with("U2", "309", "UADMIN001")
    assert ack.await_args.kwargs["text"] == "Linked <@U2> to extension 309."
    home.link_changed.assert_awaited_once_with("U2")  # their Home loses any stale status line


async def test_dial_link_says_why_an_email_gave_no_one() -> None:
    ack, linking = AsyncMock(), AsyncMock()
    linking.user_for_email.return_value = EmailProblem("x@example.com", EmailTrouble.BOT)
    admins = SimpleNamespace(is_admin=AsyncMock(return_value=True))
    command = {"user_id": "UADMIN001", "text": "x@example.com 309"}
    await dial_link.handle_dial_link(ack, command, deps=deps(admins=admins, linking=linking))
    assert "deactivated account or a bot" in ack.await_args.kwargs["text"]
    linking.link.assert_not_awaited()


async def test_showing_your_link_when_the_database_fails_says_so() -> None:
    ack, linking = AsyncMock(), AsyncMock()
    linking.link_of.side_effect = StoreFailed(OSError("disk I/O error"))
    await dial_link.handle_dial_link(ack, {"user_id": "U1", "text": ""}, deps=deps(linking=linking))
    assert ack.await_args.kwargs["text"] == admin_text.database_unavailable()


async def test_the_link_form_refuses_a_non_admin_under_the_field() -> None:
    ack, linking = AsyncMock(), AsyncMock()
    admins = SimpleNamespace(is_admin=AsyncMock(return_value=False))
    view = {"private_metadata": "U2", "state": {"values": {}}}
    await link_requests.handle_link_submission(
        ack,
        {"user": {"id": "U1"}},
        view,
        deps=deps(admins=admins, linking=linking),
        asked=link_requests.AskedAt(),
    )
    ack.assert_awaited_once_with(
        response_action="errors", errors={views.EXTENSION_BLOCK: admin_text.ONLY_ADMINS_LINK}
    )
    linking.link.assert_not_awaited()


async def test_a_link_request_from_someone_linked_shows_their_extension() -> None:
    respond, linking = AsyncMock(), AsyncMock()
    linking.link_of.return_value = Link("U1", "309", "UADMIN001", "2026-01-01T00:00:00Z")
    respond.return_value = SimpleNamespace(status_code=200)
    body = {"user": {"id": "U1"}, "response_url": "https://hooks.example/r"}
    await link_requests.handle_request_link(
        AsyncMock(), body, respond, deps=deps(linking=linking), asked=link_requests.AskedAt()
    )
    assert respond.await_args.kwargs["text"] == admin_text.link_shown(linking.link_of.return_value)


async def test_a_workflow_run_already_handled_does_nothing() -> None:
    complete, fail, service = AsyncMock(), AsyncMock(), Dialing(claim=False)
    event = {"function_execution_id": "Fx1"}
    inputs = {"interactivity": {"interactor": {"id": "U0456EFGH"}}, "number": "310"}
    await workflow.handle_place_call(event, inputs, complete, fail, deps=deps(dialing=service))
    assert service.requests == []
    complete.assert_not_awaited()
    fail.assert_not_awaited()


async def test_a_workflow_run_no_one_started_fails_with_a_plain_sentence() -> None:
    complete, fail, service = AsyncMock(), AsyncMock(), Dialing()
    event = {"function_execution_id": "Fx2"}
    await workflow.handle_place_call(
        event, {"number": "310"}, complete, fail, deps=deps(dialing=service)
    )
    [request] = service.requests
    assert request.user_id == "" and request.surface == Surface.WORKFLOW
    error = fail.await_args.kwargs["error"]
    assert "needs someone to start it" in error and "`" not in error
    complete.assert_not_awaited()
