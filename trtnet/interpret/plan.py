"""From read-back nodes to an execution plan: loop and conditional membership inferred from dataflow.

TensorRT adds interior layers of a loop or conditional with ``INetworkDefinition.add_*``; only the boundary
layers name their ``ILoop`` / ``IIfConditional``.  Membership follows the documented rule: a layer is inside
region R when it depends on R's recurrence / iterator / conditional-input outputs without passing through R's
loop / conditional outputs.  Each tensor gets the set of regions it varies with (a fixpoint over the dataflow,
recurrence back edges included); a layer's home is the innermost region of its set, and layers that vary with
no region (loop invariants) run once outside.  Only layers that the network outputs need are planned.

Plan shape: a :class:`Block` is an ordered list of items, each a :class:`Node` or a :class:`Region`
(``LoopRegion`` / ``CondRegion``) whose own blocks run as one unit in its parent block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InterpretError
from .readback import Node
from .regions import Block, CondRegion, LoopRegion, _regions


def _variance(order: list[Node], producer: dict[str, Node], regions: dict[int, Any]) -> tuple[dict, dict]:
    """Fixpoint: var[tensor] = regions the tensor varies with; encl[region] = regions enclosing it."""
    var: dict[str, frozenset] = {}
    encl: dict[int, frozenset] = {k: frozenset() for k in regions}
    get = lambda t: var.get(t, frozenset()) if t is not None else frozenset()  # noqa: E731
    changed = True
    while changed:
        changed = False
        for k, r in regions.items():
            e = frozenset().union(*[get(t) for b in r.boundary for t in b.inputs]) - {k}
            e = frozenset(x for x in e if k not in encl[x])  # regions nested inside k do not enclose it
            if e != encl[k]:
                encl[k], changed = e | encl[k], True
        for n in order:
            ins = [get(t) for t in n.inputs]
            if n.kind in ("RECURRENCE", "ITERATOR", "CONDITIONAL_INPUT"):
                v = frozenset().union(*ins) | {n.region}
            elif n.kind in ("LOOP_OUTPUT", "CONDITIONAL_OUTPUT"):
                v = (frozenset().union(*ins) - {n.region}) | encl[n.region]
            else:
                v = frozenset().union(*ins)
            for t in n.outputs:
                if var.get(t) != v:
                    var[t], changed = v | var.get(t, frozenset()), True
    return var, encl


def _topo(nodes: list[Node], producer: dict[str, Node]) -> list[Node]:
    """Nodes in dependency order, recurrence back edges (input 1) left out."""
    done: set[int] = set()
    active: set[int] = set()
    out: list[Node] = []
    for root in nodes:
        stack = [(root, False)]
        while stack:
            n, expanded = stack.pop()
            if n.index in done:
                continue
            if expanded:
                active.discard(n.index)
                done.add(n.index)
                out.append(n)
                continue
            if n.index in active:
                raise InterpretError("the network has a cycle that is not a recurrence back edge", n.name)
            active.add(n.index)
            stack.append((n, True))
            ins = n.inputs[:1] if n.kind == "RECURRENCE" else n.inputs
            for t in reversed(ins):
                p = producer.get(t) if t is not None else None
                if p is not None and p.index not in done:
                    if p.index in active:
                        raise InterpretError("the network has a cycle that is not a recurrence back edge", n.name)
                    stack.append((p, False))
    return out


@dataclass
class Plan:
    top: Block
    inputs: list[tuple]                                 # (name, dtype, shape) of the network inputs
    outputs: list[str]
    nodes: list[Node]                                   # the needed nodes, in dependency order
    regions: dict[int, Any]
    home: dict[int, Any]                                # node index -> the region it runs in (None: top)


def build_plan(nodes: list[Node], inputs: list[tuple], outputs: list[str]) -> Plan:
    producer: dict[str, Node] = {}
    names = {name for name, _, _ in inputs}
    for n in nodes:
        for t in n.outputs:
            if t in producer or t in names:
                raise InterpretError(f"tensor name '{t}' is used twice; the interpreter keys values by name", n.name)
            producer[t] = n
    regions = _regions(nodes)
    order = _topo(nodes, producer)
    var, encl = _variance(order, producer, regions)
    parent = _parents(regions, encl)
    home: dict[int, Any] = {}
    for n in order:
        if n.region is not None:
            home[n.index] = parent[n.region] if n.kind in ("LOOP_OUTPUT", "CONDITIONAL_OUTPUT") else n.region
            continue
        v = var.get(n.outputs[0], frozenset()) if n.outputs else frozenset()
        home[n.index] = _innermost(v, parent, n)
    need = _needed_nodes(order, producer, outputs, regions, home, parent)
    order = [n for n in order if n.index in need]
    for r in regions.values():             # boundary layers the outputs do not need are left out
        for attr in ("recurrences", "iterators", "outputs", "inputs"):
            if hasattr(r, attr):
                setattr(r, attr, [b for b in getattr(r, attr) if b.index in need])
    owner = {n.index: (n.region if n.region is not None else home[n.index]) for n in order}
    for n in order:
        r = owner[n.index]
        if r is not None:
            regions[r].members.append(n)
    blocks = _blocks(order, producer, regions, parent, owner)
    return Plan(blocks[None], inputs, outputs, order, regions, home)


def _parents(regions: dict[int, Any], encl: dict[int, frozenset]) -> dict[int, Any]:
    depth: dict[int, int] = {}

    def d(k: int, seen: tuple = ()) -> int:
        if k in seen:
            raise InterpretError(f"regions {[regions[x].name for x in seen]} enclose each other")
        if k not in depth:
            depth[k] = 1 + max((d(x, seen + (k,)) for x in encl[k]), default=0)
        return depth[k]
    parent: dict[Any, Any] = {}
    for k in regions:
        inner = max(encl[k], key=d, default=None)
        parent[k] = inner
    for k in regions:
        chain, x = set(), parent[k]
        while x is not None:
            chain.add(x)
            x = parent[x]
        if not encl[k] <= chain:
            raise InterpretError(f"'{regions[k].name}' uses values of sibling regions "
                                 f"{sorted(regions[x].name for x in encl[k] - chain)}")
    parent[None] = None
    return parent


def _innermost(v: frozenset, parent: dict, n: Node) -> Any:
    if not v:
        return None
    for k in v:
        chain, x = {k}, parent[k]
        while x is not None:
            chain.add(x)
            x = parent[x]
        if v <= chain:
            return k
    raise InterpretError("the layer uses values from two regions that do not nest", n.name)


def _needed_nodes(order, producer, outputs, regions, home, parent) -> set[int]:
    need: set[int] = set()
    stack = [producer[o] for o in outputs if o in producer]
    while stack:
        n = stack.pop()
        if n.index in need:
            continue
        need.add(n.index)
        stack.extend(producer[t] for t in n.inputs if t is not None and t in producer)
        r = n.region if n.region is not None else home[n.index]
        while r is not None:       # running inside a region needs its trip limits / condition
            reg = regions[r]
            stack.extend(b for b in reg.boundary if b.kind in ("TRIP_LIMIT", "CONDITION"))
            r = parent[r]
    return need


def _blocks(order, producer, regions, parent, owner) -> dict[Any, Block]:
    pos = {n.index: i for i, n in enumerate(order)}

    def item_of(n: Node, block: Any) -> Any:
        o = owner[n.index]
        if o == block:
            return None if n.region is not None else ("n", n.index)
        x = o
        while x is not None:
            if parent[x] == block:
                return ("r", x)
            x = parent[x]
        return None

    items: dict[Any, dict] = {k: {} for k in list(regions) + [None]}
    first: dict[Any, int] = {}
    for n in order:
        for b in [None] + list(regions):
            key = item_of(n, b)
            if key is not None:
                items[b].setdefault(key, []).append(n)
                first.setdefault((b, key), pos[n.index])
    nodes_by_index = {n.index: n for n in order}
    blocks: dict[Any, Block] = {}
    for b, its in items.items():
        deps: dict[Any, set] = {}
        for key, members in its.items():
            ds = set()
            for n in members:
                ins = n.inputs[:1] if n.kind == "RECURRENCE" else n.inputs
                for t in ins:
                    p = producer.get(t) if t is not None else None
                    if p is None or p.index not in pos:
                        continue
                    k2 = item_of(p, b)
                    if k2 is not None and k2 != key:
                        ds.add(k2)
            deps[key] = ds
        ordered = _sort_items(deps, lambda k: first[(b, k)])
        resolve = lambda k: nodes_by_index[k[1]] if k[0] == "n" else regions[k[1]]  # noqa: E731
        blocks[b] = Block([resolve(k) for k in ordered])
        if b is not None:
            _split(regions[b], blocks[b], deps, ordered, resolve, producer, item_of)
    return blocks


def _sort_items(deps: dict, rank) -> list:
    out, done, active = [], set(), set()

    def visit(k):
        if k in done:
            return
        if k in active:
            raise InterpretError(f"items {k} depend on each other inside one block")
        active.add(k)
        for d in sorted(deps.get(k, ()), key=rank):
            visit(d)
        active.discard(k)
        done.add(k)
        out.append(k)
    for k in sorted(deps, key=rank):
        visit(k)
    return out


def _closure(keys: list, deps: dict) -> set:
    seen, stack = set(), list(keys)
    while stack:
        k = stack.pop()
        if k in seen or k not in deps:
            continue
        seen.add(k)
        stack.extend(deps[k])
    return seen


def _split(region: Any, block: Block, deps, ordered, resolve, producer, item_of) -> None:
    """A loop's body splits into the part its WHILE condition needs and the rest; a conditional's into the
    items each branch's outputs need."""
    key = region.boundary[0].region
    root = lambda t: item_of(producer[t], key) if t in producer else None  # noqa: E731
    if isinstance(region, LoopRegion):
        pre = _closure([root(region.while_.inputs[0])], deps) if region.while_ is not None else set()
        region.pre = Block([resolve(k) for k in ordered if k in pre])
        region.body = Block([resolve(k) for k in ordered if k not in pre])
    else:
        for side, attr in ((0, "then"), (1, "else_")):
            keep = _closure([root(o.inputs[side]) for o in region.outputs], deps)
            setattr(region, attr, Block([resolve(k) for k in ordered if k in keep]))
