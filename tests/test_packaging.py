"""pyproject's lower bounds are the pins of constraints/floors.txt, which CI tests against."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.botproc import ROOT


def declared() -> list[Requirement]:
    """Every direct dependency in pyproject.toml, the test extra included."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(text) for text in texts]


def floors() -> dict[str, str]:
    """constraints/floors.txt as name -> pinned version."""
    pins = {}
    for line in (ROOT / "constraints" / "floors.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            [spec] = requirement.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_every_direct_dependency_is_pinned_at_its_lower_bound() -> None:
    pins = floors()
    names = {canonicalize_name(requirement.name) for requirement in declared()}
    assert set(pins) == names
    for requirement in declared():
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert len(lower) == 1, f"{requirement} needs exactly one lower bound"
        pin = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pin), f"{pin} is outside {requirement}"
        assert Version(pin) == Version(lower[0]), f"{pin} is not the lower bound of {requirement}"


def test_ruff_is_pinned_to_a_range() -> None:
    [ruff] = [r for r in declared() if r.name == "ruff"]
    assert {spec.operator for spec in ruff.specifier} == {">=", "<"}
