"""The loop and conditional regions of a network, collected from their boundary layers (the layers that name
their ``ILoop`` / ``IIfConditional``), and the blocks a plan is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import InterpretError
from .readback import LOOP_BOUNDARY, Node


@dataclass
class Block:
    items: list[Any] = field(default_factory=list)     # Node | LoopRegion | CondRegion


@dataclass
class LoopRegion:
    name: str
    count: Node | None = None                           # TRIP_LIMIT COUNT
    while_: Node | None = None                          # TRIP_LIMIT WHILE
    recurrences: list[Node] = field(default_factory=list)
    iterators: list[Node] = field(default_factory=list)
    outputs: list[Node] = field(default_factory=list)
    pre: Block = field(default_factory=Block)           # body part the WHILE condition needs
    body: Block = field(default_factory=Block)          # the rest of the body
    members: list[Node] = field(default_factory=list)

    @property
    def boundary(self) -> list[Node]:
        return [n for n in (self.count, self.while_) if n] + self.recurrences + self.iterators + self.outputs


@dataclass
class CondRegion:
    name: str
    condition: Node | None = None
    inputs: list[Node] = field(default_factory=list)
    outputs: list[Node] = field(default_factory=list)
    then: Block = field(default_factory=Block)
    else_: Block = field(default_factory=Block)
    members: list[Node] = field(default_factory=list)

    @property
    def boundary(self) -> list[Node]:
        return ([self.condition] if self.condition else []) + self.inputs + self.outputs


def _regions(nodes: list[Node]) -> dict[int, Any]:
    regions: dict[int, Any] = {}
    keep: list[Any] = []  # keeps the ILoop / IIfConditional wrappers alive so their ids stay unique
    for n in nodes:
        if n.region is None:
            continue
        keep.append(n.region)
        key = id(n.region)
        if key not in regions:
            cls = LoopRegion if n.kind in LOOP_BOUNDARY else CondRegion
            regions[key] = cls(getattr(n.region, "name", "") or n.name)
        r = regions[key]
        n.region = key
        if n.kind == "TRIP_LIMIT":
            if n.attrs["kind"] == "COUNT":
                r.count = n
            else:
                r.while_ = n
        elif n.kind == "RECURRENCE":
            r.recurrences.append(n)
        elif n.kind == "ITERATOR":
            r.iterators.append(n)
        elif n.kind in ("LOOP_OUTPUT", "CONDITIONAL_OUTPUT"):
            r.outputs.append(n)
        elif n.kind == "CONDITION":
            r.condition = n
        elif n.kind == "CONDITIONAL_INPUT":
            r.inputs.append(n)
    for k, r in regions.items():
        if isinstance(r, LoopRegion) and r.count is None and r.while_ is None:
            raise InterpretError(f"loop '{r.name}' has no trip limit")
        if isinstance(r, CondRegion) and r.condition is None:
            raise InterpretError(f"conditional '{r.name}' has no condition")
    return regions
