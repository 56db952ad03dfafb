"""The requirement index as objects: every BCP 14 sentence of the indexed RFCs.

The index is conformance/rfc/index.json, written by ``python -m conformance.generate_index``
(see that module for how sentences and sections are found). Levels are normalised as
conformance/DESIGN.md says: MUST (MUST, REQUIRED, SHALL), MUST NOT (MUST NOT, SHALL NOT),
SHOULD (SHOULD, RECOMMENDED), SHOULD NOT (SHOULD NOT, NOT RECOMMENDED), MAY (MAY, OPTIONAL);
the keywords are RFC 2119's, in capitals only (RFC 8174 §2).

    index = load_index()
    index.get("RFC9051-6.3.2-4").text        # "The server MUST return a LIST response ..."
    index.select(rfc=9051, section="6.3", level="MUST")   # 6.3 and its subsections
    index.title(5321, "4.5.3.1.4")           # "Command Line"
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

INDEX_PATH = Path(__file__).resolve().parent / "rfc" / "index.json"

LEVELS: tuple[str, ...] = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")

# RFC 2119 §1-§5 keywords (and RFC 8174's NOT RECOMMENDED) to the index's levels.
LEVEL_OF_KEYWORD: dict[str, str] = {
    "MUST": "MUST", "REQUIRED": "MUST", "SHALL": "MUST",
    "MUST NOT": "MUST NOT", "SHALL NOT": "MUST NOT",
    "SHOULD": "SHOULD", "RECOMMENDED": "SHOULD",
    "SHOULD NOT": "SHOULD NOT", "NOT RECOMMENDED": "SHOULD NOT",
    "MAY": "MAY", "OPTIONAL": "MAY",
}


@dataclass(frozen=True)
class Requirement:
    """One sentence of an RFC that carries a BCP 14 keyword.

    ``id`` is ``RFC<rfc>-<section>-<n>``, n counting the requirements of the section from 1;
    ``section`` is "6.3.2", or "E" / "A.1" for appendices; ``level`` is normalised.
    """

    id: str
    rfc: int
    section: str
    title: str
    level: str
    text: str


def normalise_section(section: str) -> str:
    """A section as the index writes it: "§6.3.2." -> "6.3.2", "Appendix E" -> "E"."""
    text = section.strip().removeprefix("§").strip()
    for prefix in ("Section ", "section ", "Appendix ", "appendix "):
        text = text.removeprefix(prefix)
    return text.strip().rstrip(".")


def normalise_level(level: str) -> str:
    """The index's level for a keyword ("REQUIRED" -> "MUST", "should not" -> "SHOULD NOT")."""
    keyword = " ".join(level.upper().split())
    try:
        return LEVEL_OF_KEYWORD[keyword]
    except KeyError:
        raise ValueError(f"not an RFC 2119 keyword: {level!r}") from None


def in_section(requirement_section: str, section: str) -> bool:
    """True when ``requirement_section`` is ``section`` or one of its subsections."""
    return requirement_section == section or requirement_section.startswith(section + ".")


class RequirementIndex:
    """The requirements of the indexed RFCs, in RFC order then document order."""

    def __init__(self, requirements: Iterable[Requirement],
                 sections: dict[int, dict[str, str]] | None = None) -> None:
        self._requirements = tuple(requirements)
        self._by_id = {requirement.id: requirement for requirement in self._requirements}
        if len(self._by_id) != len(self._requirements):
            raise ValueError("requirement ids are not unique")
        titles: dict[int, dict[str, str]] = {
            rfc: dict(numbers) for rfc, numbers in (sections or {}).items()
        }
        for requirement in self._requirements:
            titles.setdefault(requirement.rfc, {}).setdefault(
                requirement.section, requirement.title)
        self._titles = titles

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._requirements)

    def __len__(self) -> int:
        return len(self._requirements)

    def get(self, requirement_id: str) -> Requirement | None:
        """The requirement with this id ("RFC9051-6.3.2-4"), or None."""
        return self._by_id.get(requirement_id)

    def select(self, rfc: int | str | None = None, section: str | None = None,
               level: str | None = None) -> list[Requirement]:
        """The requirements that match every given criterion.

        ``section`` also selects its subsections ("6.3" selects "6.3.2", not "6.30");
        ``level`` selects exactly that normalised level ("REQUIRED" is taken as "MUST").
        """
        number = None if rfc is None else int(rfc)
        wanted_section = None if section is None else normalise_section(section)
        wanted_level = None if level is None else normalise_level(level)
        return [
            requirement for requirement in self._requirements
            if (number is None or requirement.rfc == number)
            and (wanted_section is None or in_section(requirement.section, wanted_section))
            and (wanted_level is None or requirement.level == wanted_level)
        ]

    def in_section(self, rfc: int | str, section: str) -> list[Requirement]:
        """The requirements of exactly this section, without its subsections."""
        number, wanted = int(rfc), normalise_section(section)
        return [
            requirement for requirement in self._requirements
            if requirement.rfc == number and requirement.section == wanted
        ]

    def title(self, rfc: int | str, section: str) -> str:
        """The section's title ("SELECT Command"), or "" when the RFC has no such section."""
        return self._titles.get(int(rfc), {}).get(normalise_section(section), "")

    def has_section(self, rfc: int | str, section: str) -> bool:
        """True when the RFC is indexed and has this section (with or without requirements)."""
        return normalise_section(section) in self._titles.get(int(rfc), {})

    def sections(self, rfc: int | str) -> dict[str, str]:
        """Every section of an indexed RFC, number to title, in document order."""
        return dict(self._titles.get(int(rfc), {}))

    @property
    def rfcs(self) -> tuple[int, ...]:
        """The indexed RFC numbers, ascending."""
        return tuple(sorted(self._titles))


def read_index(path: Path) -> RequirementIndex:
    """Read an index file written by conformance.generate_index."""
    data = json.loads(path.read_text(encoding="utf-8"))
    requirements = [
        Requirement(
            id=str(entry["id"]), rfc=int(entry["rfc"]), section=str(entry["section"]),
            title=str(entry["title"]), level=str(entry["level"]), text=str(entry["text"]),
        )
        for entry in data["requirements"]
    ]
    sections = {
        int(rfc): {str(number): str(title) for number, title in value["sections"].items()}
        for rfc, value in data.get("rfcs", {}).items()
    }
    return RequirementIndex(requirements, sections)


@cache
def load_index() -> RequirementIndex:
    """The project's requirement index (conformance/rfc/index.json), read once."""
    return read_index(INDEX_PATH)
