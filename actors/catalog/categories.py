"""Categories, pure: a tree of codes (``corpuri-iluminat`` > ``spoturi-led``), the rules of a new
one, and product counts summed up the tree."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import msgspec

from actors.catalog.values import Problem, category_code_problem, text_problem


class Category(msgspec.Struct, frozen=True, kw_only=True):
    """A node of the category tree."""

    code: str
    name: str
    parent: str | None = None


def category_problems(c: Category, existing: Collection[str]) -> list[Problem]:
    """What is wrong with a new category, given the codes that exist."""
    out: list[Problem] = []
    if (why := category_code_problem(c.code)) is not None:
        out.append(Problem("code", why))
    elif c.code in existing:
        out.append(Problem("code", f"category {c.code!r} already exists"))
    if (why := text_problem(c.name, max_length=100)) is not None:
        out.append(Problem("name", why))
    if c.parent is not None and c.parent not in existing:
        out.append(Problem("parent", f"no category {c.parent!r}"))
    return out


def subtree_totals(parents: Mapping[str, str | None], direct: Mapping[str, int]) -> dict[str, int]:
    """Products in each category and all its descendants, from each category's own count."""
    totals = dict.fromkeys(parents, 0)
    for code in parents:
        seen: set[str] = set()
        node: str | None = code
        while node is not None and node in totals and node not in seen:  # cycle-safe
            seen.add(node)
            totals[node] += direct.get(code, 0)
            node = parents[node]
    return totals
