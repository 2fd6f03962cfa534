"""`links sync [--apply]`: bring every link in step with the company directory, or show how.

Every member is listed (users.list, by cursor, Tier 2) and each active person's extension field
is read (users.profile.get, Tier 4: paced to stay inside it, Retry-After waited out). Each person
gets the one decision (bot.domain.directory): add, change, remove, keep, or a conflict for the
admins. Without --apply nothing is written; with it, each person's step is written at once in
its own transaction, so the command can be stopped and run again: what was done shows as
unchanged. The plan is printed per person on standard output; progress goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from bot import wiring
from bot.cli.common import CliError, Env, Where, bot_token, open_store, setting, where
from bot.cli.progress import Progress, duration
from bot.config import Settings
from bot.domain import extensions
from bot.domain.directory import DIRECTORY, Current, Decision, Verdict, decide
from bot.services.directory_links import ProfileUnavailable
from bot.slack import profiles as slack_profiles
from bot.slack.profiles import FieldProblem, FieldTrouble, Member, SlackProfiles
from bot.store import Store

#: Seconds between users.profile.get requests (Tier 4); tests set it to 0.
PROFILE_INTERVAL = slack_profiles.PROFILE_INTERVAL
#: Seconds between users.list pages (Tier 2); tests set it to 0.
PAGE_INTERVAL = slack_profiles.PAGE_INTERVAL
#: What `check` reads back: the last sync's count of members and of values.
STATS_KEY = "last_sync"

#: The plan's verbs, dry run and applied.
VERBS = {
    Verdict.LINK: ("would add", "added"),
    Verdict.CHANGE: ("would change", "changed"),
    Verdict.REMOVE: ("would remove", "removed"),
}


async def wait(seconds: float) -> None:
    """Wait out a pace or a Retry-After (tests replace it, so nothing sleeps for real)."""
    await asyncio.sleep(seconds)


def printable(text: str) -> str:
    """A name from Slack made safe to print on one line."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:80]


@dataclass
class Plan:
    """The links as the sync goes: the store's (applied) or a copy it updates (dry run)."""

    store: Store | None
    apply: bool
    region: str

    def __post_init__(self) -> None:
        links = self.store.links.all() if self.store is not None else []
        self.current = {link.user_id: Current(link.extension, link.source) for link in links}
        self.holders: defaultdict[str, set[str]] = defaultdict(set)
        for link in links:
            self.holders[link.extension].add(link.user_id)

    def rule(self, value: str) -> extensions.Problem | None:
        """The one extension rule."""
        return extensions.linkable_problem(value, self.region)

    def follow(self, user_id: str, value: str, active: bool) -> Decision:
        """One person's decision: written now (--apply), or kept in the copy (dry run)."""
        if self.apply:
            assert self.store is not None
            decision = self.store.directory.follow(
                user_id, value, active=active, rule=self.rule
            ).decision
        else:
            current = self.current.get(user_id)
            holders = sorted(self.holders.get(value.strip(), ()))
            decision = decide(
                user_id, value, active=active, current=current, holders=holders, rule=self.rule
            )
        self._keep(decision)
        return decision

    def _keep(self, decision: Decision) -> None:
        """Update the copy, so later people are decided against the links as they will be."""
        user_id, before = decision.user_id, decision.current
        if not decision.verdict.changes:
            return
        if before is not None:
            self.holders[before.extension].discard(user_id)
        if decision.verdict == Verdict.REMOVE:
            self.current.pop(user_id, None)
        else:
            self.current[user_id] = Current(decision.value, DIRECTORY)
            self.holders[decision.value].add(user_id)


def describe(member: Member, names: dict[str, str]) -> str:
    """A person in the plan: name and ID."""
    return f"{printable(member.name)} ({member.user_id})"


def plan_line(decision: Decision, member: Member, names: dict[str, str], apply: bool) -> str:
    """The plan's line for one person whose link changes or who is in conflict."""
    who = describe(member, names)
    verdict, value = decision.verdict, printable(decision.value)
    before = decision.current.extension if decision.current else ""
    if verdict in VERBS:
        verb = VERBS[verdict][1 if apply else 0]
        if verdict == Verdict.LINK:
            return f"{verb} {who} → {value}"
        if verdict == Verdict.CHANGE:
            return f"{verb} {who} {before} → {value}"
        why = "deactivated" if not member.active else "directory field emptied"
        return f"{verb} {who} {before} ({why})"
    if verdict == Verdict.REFUSED:
        return f"conflict {who}: the directory's {value!r} can't be linked as an extension"
    if verdict == Verdict.TAKEN:
        holder = f"{printable(names.get(decision.holder, decision.holder))} ({decision.holder})"
        return f"conflict {who}: the directory's {value} is already linked to {holder}"
    return f"conflict {who}: the directory's {value} disagrees with {before}, linked by hand"


def _field_error(problem: FieldProblem, url: str) -> CliError:
    """The one line that stops the sync when the field can't be used."""
    if problem.trouble == FieldTrouble.UNREACHABLE:
        return CliError(f"could not reach Slack at {url} ({problem.code}); nothing changed.")
    return CliError(problem.line())


async def _members(profiles: SlackProfiles) -> list[Member]:
    """Every member; CliError when Slack can't list them."""
    found: list[Member] = []
    try:
        async for member in profiles.members():
            found.append(member)
    except ProfileUnavailable as error:
        raise CliError(f"could not list the members ({error}); nothing changed.") from None
    return found


def _summary(counts: Counter[str], apply: bool) -> str:
    """The last line: how many people went which way."""
    added, changed, removed = (counts[v] for v in (Verdict.LINK, Verdict.CHANGE, Verdict.REMOVE))
    conflicts = counts[Verdict.REFUSED] + counts[Verdict.TAKEN] + counts[Verdict.HAND]
    line = (
        f"{counts['read']} profiles read: {added} to add, {changed} to change, {removed} to "
        f"remove, {conflicts} conflict(s), {counts[Verdict.KEEP]} unchanged"
    )
    if apply:
        line = line.replace("to add", "added").replace("to change", "changed")
        return line.replace("to remove", "removed")
    return line + " (dry run: nothing was written; --apply does it)"


async def _sync(profiles: SlackProfiles, plan: Plan, url: str) -> Counter[str]:
    """Read every member and decide (and, with --apply, write) their link, in order."""
    field = await profiles.field()
    if isinstance(field, FieldProblem):
        raise _field_error(field, url)
    members = [member for member in await _members(profiles) if member.human]
    names = {member.user_id: member.name for member in members}
    active = sum(member.active for member in members)
    about = duration(active * PROFILE_INTERVAL)
    print(
        f"{len(members)} members; reading the {field.label!r} field of the {active} active "
        f"ones (about {about} at Slack's limit)",
        file=sys.stderr,
        flush=True,
    )
    progress = Progress(active, "profiles read")
    counts: Counter[str] = Counter()
    for member in members:
        value = ""
        if member.active:
            try:
                value = await profiles.extension_of(member.user_id)
            except ProfileUnavailable as error:
                progress.interrupt()
                raise CliError(
                    f"stopped at {describe(member, names)}: could not read the profile "
                    f"({error}). What is printed above was {'done' if plan.apply else 'planned'}"
                    "; run the command again to go on."
                ) from None
            counts["read"] += 1
            counts["with_value"] += bool(value)
        decision = plan.follow(member.user_id, value, member.active)
        counts[decision.verdict] += 1
        if decision.verdict.changes or decision.verdict.conflict:
            progress.clear()
            print(plan_line(decision, member, names, plan.apply), flush=True)
        if member.active:
            progress.step()
    counts["members"] = active
    return counts


def run_sync(args: argparse.Namespace, env: Env) -> int:
    """`links sync [--apply]`: print the plan per person; with --apply, carry it out."""
    wanted = setting(env, "DIALER_EXTENSION_FIELD")
    if not wanted:
        raise CliError(
            "DIALER_EXTENSION_FIELD is not set: name the custom profile field that holds "
            "each person's extension (its label or id)."
        )
    region = setting(env, "DIALER_DEFAULT_REGION")
    token = bot_token(env, "to read the members and their profiles")
    url = setting(env, "SLACK_API_URL")
    place = where(env)
    store = open_store(place) if args.apply or place.exists() else None
    profiles = wiring.cli_profiles(
        token,
        url,
        wanted,
        profile_interval=PROFILE_INTERVAL,
        page_interval=PAGE_INTERVAL,
        sleep=wait,
    )
    try:
        counts = asyncio.run(_sync(profiles, Plan(store, args.apply, region), url))
        if store is not None:
            stats = {"members": counts["members"], "with_value": counts["with_value"]}
            store.directory.remember(STATS_KEY, json.dumps({**stats, "at": time.time()}))
    finally:
        if store is not None:
            store.close()
    print(_summary(counts, args.apply))
    return 0


def last_sync(store: Store) -> dict | None:
    """What the last `links sync` counted (members, with_value, at), or None."""
    raw = store.directory.recalled(STATS_KEY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def directory_summary(settings: Settings) -> tuple[bool, str]:
    """For `check`: whether the field can be trusted, and how many people have a value in it.

    Counting values takes one users.profile.get per person (ten minutes for 1,000), so the
    count is the last `links sync`'s, beside the links the directory made.
    """
    assert settings.extension_field
    url = settings.slack_api_url
    profiles = wiring.cli_profiles(settings.slack_bot_token, url, settings.extension_field)
    field = asyncio.run(profiles.field())
    if isinstance(field, FieldProblem):
        return False, str(_field_error(field, url))
    how = "synced from the identity provider (SCIM)" if field.scim else "protected"
    text = f"{field.label!r} ({field.id}) is {how}: people can't edit it"
    place = Where(settings.db_path, settings.database_url)
    if not place.exists():
        return True, text + "; no links yet"
    store = open_store(place)
    try:
        stats, linked = last_sync(store), store.directory.count()
        conflicts = store.directory.conflict_count()
    finally:
        store.close()
    if stats:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stats.get("at", 0)))
        text += (
            f"; {stats.get('with_value', 0)} of {stats.get('members', 0)} active members had a "
            f"value at the last links sync ({when})"
        )
    else:
        text += "; `links sync` counts the people with a value"
    return True, text + f"; {linked} linked from it, {conflicts} conflict(s) open"
