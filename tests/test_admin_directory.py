"""Who counts as this workspace's person: its team, or its Enterprise Grid org when org-wide."""

from __future__ import annotations

from bot.slack.admins import Standing, belongs, refusal
from bot.slack.identity import Workspace
from bot.slack.text import admins as admin_text

TEAM = Workspace("T1", "", org_wide=False)
GRID_TEAM = Workspace("T1", "E1", org_wide=False)
ORG = Workspace("", "E1", org_wide=True)


def test_a_plain_workspace_trusts_its_own_team_only() -> None:
    assert belongs({"team_id": "T1"}, TEAM)
    assert not belongs({"team_id": "T2"}, TEAM)
    assert not belongs({"team_id": "T1", "enterprise_id": "E9"}, TEAM)


def test_a_grid_workspace_trusts_its_members_of_the_same_org() -> None:
    assert belongs({"team_id": "T1", "enterprise_id": "E1"}, GRID_TEAM)
    member = {"team_id": "T7", "enterprise_user": {"enterprise_id": "E1", "teams": ["T7", "T1"]}}
    assert belongs(member, GRID_TEAM)
    assert not belongs({"team_id": "T7", "enterprise_id": "E1"}, GRID_TEAM)
    assert not belongs({"team_id": "T1", "enterprise_id": "E2"}, GRID_TEAM)


def test_an_org_wide_install_trusts_the_whole_org_and_no_one_else() -> None:
    assert belongs({"team_id": "T7", "enterprise_id": "E1"}, ORG)
    assert belongs({"team_id": "T8", "enterprise_user": {"enterprise_id": "E1"}}, ORG)
    assert not belongs({"team_id": "T7", "enterprise_id": "E2"}, ORG)
    assert not belongs({"team_id": "T7"}, ORG)


def test_only_an_admin_standing_is_true_and_each_refusal_says_why() -> None:
    assert Standing.ADMIN and not Standing.MEMBER and not Standing.OUTSIDER
    assert not Standing.UNCONFIRMED
    assert refusal(Standing.OUTSIDER, {"UA"}) == admin_text.not_of_this_workspace()
    assert refusal(Standing.UNCONFIRMED, {"UA"}) == admin_text.workspace_unknown()
    assert refusal(Standing.MEMBER, {"UA"}) == admin_text.not_admin({"UA"})
    assert refusal(False, {"UA"}, viewing=True) == admin_text.not_admin({"UA"}, viewing=True)
