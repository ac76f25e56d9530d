"""The flow graph: edges, reachability, cycles, topological order and post-dominators."""

from __future__ import annotations

from collections.abc import Callable

from ruleplus.errors import StrategyCompileError

__all__ = ["END", "Graph"]

END = "end"


class Graph:
    """A flow of nodes from ``start`` to the virtual node :data:`END`.

    Parameters
    ----------
    order : list of str
        Node ids in document order (the first is the start).
    succ : dict
        Successor ids per node (``end`` allowed).
    error : callable
        ``error(node_id, message)`` returns the exception to raise.
    """

    def __init__(
        self,
        order: list[str],
        succ: dict[str, list[str]],
        error: Callable[[str, str], StrategyCompileError],
    ) -> None:
        self.start = order[0]
        self.succ = succ
        for node, targets in succ.items():
            for t in targets:
                if t != END and t not in succ:
                    raise error(node, f"unknown node {t!r} (known: {', '.join(order)}, end)")
        self.topo = self._topological(error)
        reachable = set(self.topo)
        for node in order:
            if node not in reachable:
                raise error(node, "node is unreachable from the start of the flow")
        self.pred: dict[str, list[str]] = {n: [] for n in [*self.topo, END]}
        for n in self.topo:
            for t in dict.fromkeys(succ[n]):
                self.pred[t].append(n)
        self.pdom = self._post_dominators()

    def _topological(self, error: Callable[[str, str], StrategyCompileError]) -> list[str]:
        state: dict[str, int] = {}
        out: list[str] = []
        # iterative DFS with an explicit path, to report the cycle
        stack: list[tuple[str, int]] = [(self.start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                if state.get(node) == 2:
                    continue
                state[node] = 1
                path.append(node)
            targets = [t for t in self.succ[node] if t != END]
            if i < len(targets):
                stack.append((node, i + 1))
                nxt = targets[i]
                if state.get(nxt) == 1:
                    cycle = [*path[path.index(nxt) :], nxt]
                    raise error(nxt, "the flow has a cycle: " + " -> ".join(cycle))
                if state.get(nxt) != 2:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
                out.append(node)
        out.reverse()
        return out

    def _post_dominators(self) -> dict[str, set[str]]:
        pdom: dict[str, set[str]] = {END: {END}}
        for node in reversed(self.topo):
            sets = [pdom[t] for t in self.succ[node]]
            common = set.intersection(*sets) if sets else set()
            pdom[node] = {node} | common
        return pdom

    def ipdom(self, node: str) -> str:
        """The nearest node that every path from ``node`` to the end passes through."""
        candidates = self.pdom[node] - {node}
        position = {n: i for i, n in enumerate(self.topo)}
        return min(candidates, key=lambda n: position.get(n, len(position)))

    def on_every_path(self, node: str) -> bool:
        """Whether every run of the flow reaches ``node``."""
        return node in self.pdom[self.start]
