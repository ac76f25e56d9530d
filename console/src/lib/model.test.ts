import { describe, expect, it } from "vitest";
import {
  addRule,
  bumpVersion,
  deleteRule,
  errorTarget,
  flowEdges,
  layoutFlow,
  moveRule,
  nodeChanges,
  parseCell,
  quickCellProblem,
  removeIn,
  setCell,
  setIn,
  tableCellChanges,
  type TableNode,
} from "./model";

const table: TableNode = {
  id: "policy",
  type: "table",
  inputs: ["creditScore", "dti"],
  outputs: ["decision", { name: "reasonCode", reason: true }],
  rules: [
    ["< 500", "-", "decline", "R02"],
    [">= 700", "<= 0.4", "approve", "OK"],
  ],
};

const flow = {
  nodes: [
    { id: "derive", type: "expression" },
    { id: "policy", type: "table" },
    { id: "route", type: "switch", cases: [{ when: 'decision == "approve"', goto: "approve" }], default: "decline" },
    { id: "approve", type: "expression", next: "end" },
    { id: "decline", type: "expression" },
  ],
};

describe("table rules", () => {
  it("adds a blank rule as wide as the table where asked", () => {
    const out = addRule(table, 1);
    expect(out.rules).toHaveLength(3);
    expect(out.rules[1]).toEqual(["-", "-", "-", "-"]);
    expect(table.rules).toHaveLength(2); // the original is untouched
  });
  it("moves and deletes rules, and stops at the edges", () => {
    expect(moveRule(table, 0, 1).rules[0][0]).toBe(">= 700");
    expect(moveRule(table, 0, -1)).toBe(table);
    expect(deleteRule(table, 0).rules).toEqual([table.rules[1]]);
  });
  it("sets one cell only", () => {
    const out = setCell(table, 1, 1, "<= 0.45");
    expect(out.rules[1]).toEqual([">= 700", "<= 0.45", "approve", "OK"]);
    expect(out.rules[0]).toBe(table.rules[0]);
  });
  it("reads typed cells back as document values", () => {
    expect(parseCell("0")).toBe(0);
    expect(parseCell("[own, mortgage]")).toEqual(["own", "mortgage"]);
    expect(parseCell(" < 500 ")).toBe("< 500");
    expect(parseCell("true")).toBe(true);
  });
  it("flags unbalanced brackets and quotes while typing", () => {
    expect(quickCellProblem("[700..739]")).toBeNull();
    expect(quickCellProblem("[700..739")).toMatch(/unclosed \[/);
    expect(quickCellProblem('"own')).toMatch(/unclosed "/);
    expect(quickCellProblem("a)")).toMatch(/unbalanced/);
  });
  it("finds changed cells between versions", () => {
    const changed = setCell(table, 0, 0, "< 520");
    expect([...tableCellChanges(table, changed)]).toEqual(["0:0"]);
    expect([...tableCellChanges(table, addRule(table, 2))].sort()).toEqual(["2:0", "2:1", "2:2", "2:3"]);
  });
});

describe("flow", () => {
  it("routes like the engine: cases, default, next, then the next node in the list", () => {
    const edges = flowEdges(flow).map((e) => `${e.from}>${e.to}`);
    expect(edges).toEqual(["derive>policy", "policy>route", "route>approve", "route>decline", "approve>end", "decline>end"]);
    const route = flowEdges(flow).find((e) => e.from === "route" && e.to === "decline");
    expect(route?.path).toEqual(["nodes", 2, "default"]);
  });
  it("lays out nodes left to right by their longest distance from the start", () => {
    const { nodes } = layoutFlow(flow);
    const x = Object.fromEntries(nodes.map((n) => [n.id, n.x]));
    expect(x.derive).toBeLessThan(x.policy);
    expect(x.policy).toBeLessThan(x.route);
    expect(x.approve).toBe(x.decline);
    expect(x.end).toBeGreaterThan(x.approve);
  });
  it("reports changed, added and removed nodes", () => {
    const next = { nodes: [...flow.nodes.slice(0, 4).map((n) => (n.id === "approve" ? { ...n, next: "decline" } : n)), { id: "refer", type: "expression" }] };
    const changes = nodeChanges(flow, next);
    expect(changes.get("approve")).toBe("changed");
    expect(changes.get("derive")).toBe("same");
    expect(changes.get("refer")).toBe("added");
    expect(changes.get("decline")).toBe("removed");
  });
});

describe("documents", () => {
  it("sets and removes paths without touching the original", () => {
    const doc = { nodes: [{ id: "a", next: "b" }] };
    const out = setIn(doc, ["nodes", 0, "next"], "end");
    expect(out.nodes[0].next).toBe("end");
    expect(doc.nodes[0].next).toBe("b");
    expect(removeIn(out, ["nodes", 0, "next"]).nodes[0]).toEqual({ id: "a" });
  });
  it("points an engine error's path at the node, rule and column", () => {
    expect(errorTarget(["nodes", 1, "rules", 3, 2])).toEqual({ node: 1, row: 3, col: 2, key: ["rules", 3, 2] });
    expect(errorTarget(["nodes", 2, "cases", 0, "goto"])).toEqual({ node: 2, key: ["cases", 0, "goto"] });
    expect(errorTarget(["inputs", "x"])).toEqual({});
  });
  it("bumps the last number of a version", () => {
    expect(bumpVersion("1.0.0")).toBe("1.0.1");
    expect(bumpVersion("2026-11")).toBe("2026-12");
    expect(bumpVersion("v")).toBe("v.1");
  });
});
