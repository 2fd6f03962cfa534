"""The links CSV: find the user and extension columns, check each row, write the file back."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.cli.common import CliError
from bot.domain import extensions
from bot.domain.ids import MENTION, USER_ID
from bot.logs import one_line
from bot.slack.text import admins as admin_text
from bot.store import Link

HEADER = ("user_id", "extension")
USER_HEADERS = frozenset(
    {
        "user",
        "users",
        "user_id",
        "userid",
        "slack_user",
        "slack_user_id",
        "slack_id",
        "slack_member_id",
        "member_id",
        "email",
        "e_mail",
        "email_address",
        "mail",
        "slack_email",
        "user_email",
    }
)
EXTENSION_HEADERS = frozenset(
    {
        "extension",
        "extensions",
        "ext",
        "extn",
        "ext_no",
        "ext_number",
        "extension_number",
        "extension_no",
        "pbx_extension",
        "phone_extension",
    }
)

EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
SHOWN_CHARS = 40


@dataclass(frozen=True)
class Row:
    """One data row: the user as written, the extension, and what is known or wrong about it."""

    line: int
    user: str
    extension: str
    user_id: str | None = None
    problem: str | None = None

    @property
    def email(self) -> str | None:
        """The email address the row names the user by, if it does."""
        return self.user if "@" in self.user else None

    @property
    def who(self) -> str:
        """The user for a report line: the ID, with the email it came from when there was one."""
        if self.email and self.user_id:
            return f"{self.user_id} ({one_line(self.email)})"
        return self.user_id or one_line(self.user)


@dataclass(frozen=True)
class Columns:
    """Where the user and extension are, how many cells a row has, and whether row 1 is a header."""

    user: int
    extension: int
    width: int
    header: bool
    named: bool = True

    def note(self, first: Sequence[str]) -> str | None:
        """A line telling the operator how row 1 was read, when it was not plainly a header."""
        if not self.header:
            return "note: row 1 is not a header; reading it as data (user, extension)"
        if self.named:
            return None
        user, extension = _shown(first[self.user]), _shown(first[self.extension])
        return f"note: reading users from column {user} and extensions from column {extension}"


def user_id_of(cell: str) -> str | None:
    """The Slack user ID a cell names directly (U0123ABCD or <@U0123ABCD|name>), if any."""
    mention = MENTION.fullmatch(cell)
    if mention:
        return mention[1]
    return cell if USER_ID.match(cell) else None


def _shown(value: str) -> str:
    """A cell value quoted for a report line, flattened and shortened."""
    flat = one_line(value)  # a cell can't move the cursor or recolour the terminal
    if len(flat) > SHOWN_CHARS:
        flat = flat[: SHOWN_CHARS - 1] + "…"
    return f'"{flat}"'


def _header_name(cell: str) -> str:
    """A header cell normalised for matching: "Slack User ID " -> "slack_user_id"."""
    return re.sub(r"[^a-z0-9]+", "_", cell.strip().lower()).strip("_")


def _index(names: Sequence[str], wanted: frozenset[str]) -> int | None:
    """The first position whose name is one of `wanted`."""
    return next((i for i, name in enumerate(names) if name in wanted), None)


def _looks_like_data(cells: Sequence[str]) -> bool:
    """Whether a first row holds a user or an extension rather than column names."""
    user, extension = cells[0].strip(), cells[1].strip()
    return bool(user_id_of(user) or EMAIL.match(user) or extension.isdigit())


def find_columns(first: Sequence[str]) -> Columns:
    """Read the first row as a header (by name, else the first two columns) or as data."""
    if len(first) < 2:
        raise CliError(
            f"row 1 has {len(first)} column(s): the file needs two, a Slack user ID or email "
            "and an extension, under a header like user_id,extension."
        )
    names = [_header_name(cell) for cell in first]
    user, extension = _index(names, USER_HEADERS), _index(names, EXTENSION_HEADERS)
    named = user is not None and extension is not None
    if user is None and extension is None and _looks_like_data(first):
        return Columns(0, 1, len(first), header=False, named=False)
    if user is None:
        user = next(i for i in range(len(first)) if i != extension)
    if extension is None:
        extension = next(i for i in range(len(first)) if i != user)
    return Columns(user, extension, len(first), header=True, named=named)


def _delimiter(text: str) -> str:
    """Comma, unless the first line clearly uses semicolons or tabs (some spreadsheets do)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        for candidate in (";", "\t"):
            if candidate in first:
                return candidate
    return ","


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Every non-blank CSV record with the line it ends on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((reader.line_num, cells))
    except csv.Error as error:
        raise CliError(f"line {reader.line_num} is not valid CSV: {error}.") from None
    return records


def _fit(cells: list[str], width: int) -> list[str]:
    """Drop empty cells past the header's width (spreadsheets add trailing commas)."""
    while len(cells) > width and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _user_problem(user: str) -> str | None:
    """Why a user cell names nobody, or None when it is an ID or an email address."""
    if not user:
        return "no Slack user ID or email"
    if user_id_of(user) or EMAIL.match(user):
        return None
    return f"{_shown(user)} is not a Slack user ID (like U0123ABCD) or an email address"


def _extension_problem(extension: str, region: str) -> str | None:
    """Why an extension cell can't be linked under region (bot.domain.extensions' rule), or None."""
    if not extension:
        return "no extension"
    problem = extensions.linkable_problem(extension, region)
    if problem is None:
        return None
    if problem.kind == extensions.Kind.SHAPE:
        return f"{_shown(extension)} is not an extension (2 to 8 digits)"
    return f"{_shown(extension)} {admin_text.extension_refusal_reason(problem)}, not an extension"


def check_row(line: int, cells: list[str], columns: Columns, region: str) -> Row:
    """One record as a Row, with every problem of its shape named (extensions as for region)."""
    cells = _fit(cells, columns.width)
    if len(cells) != columns.width:
        return Row(
            line,
            "",
            "",
            problem=f"bad row {line}: expected {columns.width} columns, found {len(cells)}",
        )
    user, extension = cells[columns.user].strip(), cells[columns.extension].strip()
    problems = [p for p in (_user_problem(user), _extension_problem(extension, region)) if p]
    problem = f"bad row {line}: " + "; ".join(problems) if problems else None
    return Row(line, user, extension, user_id=user_id_of(user), problem=problem)


def read(text: str, region: str) -> tuple[list[Row], list[str]]:
    """Every data row of a links CSV, checked under region, and notes about how it was read."""
    records = _records(text)
    if not records:
        raise CliError("the file is empty: it needs a header row like user_id,extension.")
    columns = find_columns(records[0][1])
    note = columns.note(records[0][1])
    notes = [note] if note else []
    data = records[1:] if columns.header else records
    return [check_row(line, cells, columns, region) for line, cells in data], notes


def mark_duplicates(rows: Iterable[Row]) -> list[Row]:
    """Mark every row whose user appears more than once: which one was meant is unknowable."""
    rows = list(rows)
    lines: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.user_id:
            lines[row.user_id].append(row.line)
    return [_as_duplicate(row, lines[row.user_id]) if row.user_id else row for row in rows]


def _as_duplicate(row: Row, lines: list[int]) -> Row:
    """The row, marked bad when its user is on other lines too (a bad row keeps its reason)."""
    if len(lines) < 2 or row.problem:
        return row
    listed = ", ".join(str(line) for line in lines)
    problem = f"bad row {row.line}: {row.who} is listed more than once (rows {listed})"
    return replace(row, problem=problem)


def _order(link: Link) -> tuple[int, int, str, str]:
    """Sort key: by extension as a number, then the user."""
    ext = link.extension
    return (0, int(ext), ext, link.user_id) if ext.isdigit() else (1, 0, ext, link.user_id)


def render(links: Iterable[Link]) -> str:
    """The links as CSV with a user_id,extension header, sorted by extension."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows((link.user_id, link.extension) for link in sorted(links, key=_order))
    return out.getvalue()
