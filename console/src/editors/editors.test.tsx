import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../lib/i18n";
import type { TableNode } from "../lib/model";
import { FlowEditor, FlowGraph } from "./FlowEditor";
import { ParametersEditor } from "./ParametersEditor";
import { parseThen, RulesetEditor } from "./RulesetEditor";
import { ScorecardEditor } from "./ScorecardEditor";
import { TableEditor } from "./TableEditor";

afterEach(cleanup);

const table: TableNode = {
  id: "policy",
  type: "table",
  inputs: ["creditScore", "dti"],
  outputs: ["decision"],
  rules: [
    ["< 500", "-", "decline"],
    [">= 700", "<= 0.4", "approve"],
  ],
};

const wrap = (ui: React.ReactElement, lang: "en" | "zh" = "en") =>
  render(
    <I18nProvider lang={lang} setLang={() => undefined}>
      {ui}
    </I18nProvider>,
  );

describe("TableEditor", () => {
  it("edits a cell and hands the new table up", () => {
    const onChange = vi.fn();
    wrap(<TableEditor table={table} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("cell-1-0"), { target: { value: ">= 720" } });
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange.mock.calls[0][0].rules[1][0]).toBe(">= 720");
  });
  it("adds and deletes rules", () => {
    const onChange = vi.fn();
    wrap(<TableEditor table={table} onChange={onChange} />);
    fireEvent.click(screen.getByTestId("add-rule"));
    expect(onChange.mock.calls[0][0].rules).toHaveLength(3);
    fireEvent.click(screen.getByTestId("delete-rule-0"));
    expect(onChange.mock.calls[1][0].rules).toEqual([table.rules[1]]);
  });
  it("marks the cell the engine refused and a cell that does not balance", () => {
    const bad = { ...table, rules: [["< 500", "-", "decline"], ["[700..739", "<= 0.4", "approve"]] };
    wrap(<TableEditor table={bad} onChange={() => undefined} error={{ row: 0, col: 1, message: "unexpected" }} />);
    expect(screen.getByTestId("cell-0-1").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("cell-0-0").getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByTestId("cell-1-0").getAttribute("aria-invalid")).toBe("true");
  });
  it("is read-only without onChange and highlights changed cells", () => {
    wrap(<TableEditor table={table} changed={new Set(["1:1"])} />);
    expect(screen.queryByTestId("add-rule")).toBeNull();
    expect(screen.getByTestId("cell-1-1").closest("td")!.className).toContain("cell-changed");
    expect((screen.getByTestId("cell-0-0") as HTMLInputElement).readOnly).toBe(true);
  });
  it("speaks Chinese when asked", () => {
    wrap(<TableEditor table={table} onChange={() => undefined} />, "zh");
    expect(screen.getByTestId("add-rule").textContent).toContain("新增规则");
  });
});

describe("FlowEditor", () => {
  const doc = {
    nodes: [
      { id: "a", type: "expression" },
      { id: "route", type: "switch", cases: [{ when: "x > 1", goto: "b" }], default: "c" },
      { id: "b", type: "expression", next: "end" },
      { id: "c", type: "expression" },
    ],
  };
  it("changes a routing target", () => {
    const onChange = vi.fn();
    wrap(<FlowEditor doc={doc} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("route-nodes.1.cases.0.goto"), { target: { value: "c" } });
    expect(onChange.mock.calls[0][0].nodes[1].cases[0].goto).toBe("c");
    expect(doc.nodes[1].cases![0].goto).toBe("b");
  });
  it("draws every node and the path a decision took", () => {
    wrap(<FlowGraph doc={doc} highlight={["a", "route", "b"]} />);
    for (const id of ["a", "route", "b", "c", "end"]) expect(screen.getByTestId(`flow-node-${id}`)).toBeTruthy();
    expect(screen.getByTestId("flow-node-b").getAttribute("class")).toContain("visited");
    expect(screen.getByTestId("flow-node-c").getAttribute("class")).not.toContain("visited");
  });
  it("shows an unknown target as such", () => {
    const broken = { nodes: [{ id: "a", type: "expression", next: "nowhere" }] };
    wrap(<FlowEditor doc={broken} onChange={() => undefined} />);
    expect(screen.getByTestId("route-nodes.0.next").textContent).toContain("nowhere ⚠");
  });
});

describe("other editors", () => {
  it("edits a parameter's default and marks one outside its bounds", () => {
    const onChange = vi.fn();
    const params = { cutoff: { type: "integer", default: 600, min: 300, max: 900 } };
    wrap(<ParametersEditor parameters={params} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("param-cutoff"), { target: { value: "610" } });
    expect(onChange.mock.calls[0][0].cutoff.default).toBe(610);
    cleanup();
    wrap(<ParametersEditor parameters={{ cutoff: { ...params.cutoff, default: 950 } }} onChange={onChange} />);
    expect(screen.getByTestId("param-cutoff").closest("td")!.className).toContain("cell-error");
  });
  it("edits a rule set's condition", () => {
    const onChange = vi.fn();
    const node = { id: "ko", type: "ruleset", rules: [{ when: "age < 18", then: { decision: "decline" }, reason: "KO01" }] };
    wrap(<RulesetEditor node={node} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("rule-when-0"), { target: { value: "age < 21" } });
    expect(onChange.mock.calls[0][0].rules[0]).toEqual({ when: "age < 21", then: { decision: "decline" }, reason: "KO01" });
    expect(parseThen("decision=decline, limit=5000, flag=true")).toEqual({ decision: "decline", limit: 5000, flag: true });
  });
  it("edits a scorecard bin's points", () => {
    const onChange = vi.fn();
    const node = {
      id: "sc",
      type: "scorecard",
      base_points: 420,
      characteristics: [{ name: "age", input: "age", bins: [{ when: "< 23", points: 5 }] }],
    };
    wrap(<ScorecardEditor node={node} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("points-0-0"), { target: { value: "7" } });
    expect(onChange.mock.calls[0][0].characteristics[0].bins[0]).toEqual({ when: "< 23", points: 7 });
  });
});
