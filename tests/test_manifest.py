"""manifest.yml parses and declares what the code answers to: commands, shortcuts, the step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome
from bot.services.dialing import Answer
from bot.slack.listeners import workflow

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """manifest.yml as Slack reads it."""
    parsed = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(parsed, dict)
    return parsed


def test_the_contract_surfaces_are_declared(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert {c["command"] for c in features["slash_commands"]} == {"/dial", "/dial-link"}
    assert all(c["should_escape"] is True for c in features["slash_commands"])
    shortcuts = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    assert shortcuts == {"dial_from_message": "message", "dial_from_modal": "global"}
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_the_place_call_step_is_declared_with_its_inputs(manifest: dict[str, Any]) -> None:
    step = manifest["functions"][workflow.PLACE_CALL]
    assert step["title"] == "Place a call"
    inputs = step["input_parameters"]
    assert set(inputs) == {"interactivity", "number"}
    assert inputs["interactivity"]["type"] == "slack#/types/interactivity"
    assert inputs["number"]["type"] == "string"
    for name, parameter in inputs.items():
        assert parameter["is_required"] is True, name
        assert parameter["name"] == name


def test_the_step_outputs_are_exactly_what_the_code_completes_with(
    manifest: dict[str, Any],
) -> None:
    declared = manifest["functions"][workflow.PLACE_CALL]["output_parameters"]
    answer = _placed_answer()
    outputs = workflow.step_outputs(answer, "UALICE001")
    assert set(declared) == set(outputs)
    assert {"destination", "extension", "message"} <= set(declared)
    for name, parameter in declared.items():
        assert parameter["name"] == name
        assert parameter["title"] and parameter["type"]
    assert declared["caller"]["type"] == "slack#/types/user_id"


def test_slack_gets_the_settings_custom_steps_require(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]
    assert settings["function_runtime"] == "remote"
    assert settings["org_deploy_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True


def test_the_scopes_cover_the_step_dm(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "im:write"} <= scopes


def test_the_step_is_the_only_function(manifest: dict[str, Any]) -> None:
    """A step Slack offers but the bot does not answer would hang every workflow using it."""
    assert set(manifest["functions"]) == {workflow.PLACE_CALL}


def _placed_answer() -> Answer:
    facts = Facts(display="+1 580-867-5309", extension="309")
    return Answer(Outcome.PLACED, facts, "+15808675309")


def test_links_from_the_directory_can_read_profiles_and_hear_changes(
    manifest: dict[str, Any],
) -> None:
    """DIALER_EXTENSION_FIELD reads custom profile fields and follows user_change."""
    assert "users.profile:read" in manifest["oauth_config"]["scopes"]["bot"]
    assert "user_change" in manifest["settings"]["event_subscriptions"]["bot_events"]
    text = MANIFEST.read_text(encoding="utf-8")
    for line in ("- users.profile:read", "- user_change"):
        before = text.splitlines()[text.splitlines().index(f"      {line}") - 1]
        assert before.strip().startswith("#"), f"{line} has no comment saying why"
