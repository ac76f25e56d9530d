// Strategy documents as the editors see them: plain JSON (the same shape as the YAML files),
// edited immutably. Presentation helpers only — the engine validates every edit.

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Doc = Record<string, any>;
export type Path = (string | number)[];
export interface FlowNode {
  id: string;
  type: string;
  [key: string]: any;
}
export interface Edge {
  from: string;
  to: string;
  label?: string;
  /** where the target is written in the document (for the routing editor) */
  path?: Path;
}

export const END = "end";

export function nodesOf(doc: Doc): FlowNode[] {
  return Array.isArray(doc?.nodes) ? doc.nodes : [];
}

/** The value at ``path`` (undefined when absent). */
export function getIn(value: any, path: Path): any {
  let cur = value;
  for (const key of path) {
    if (cur === null || cur === undefined) return undefined;
    cur = cur[key as any];
  }
  return cur;
}

/** A copy of ``value`` with ``path`` set (containers on the way copied, the rest shared). */
export function setIn<T>(value: T, path: Path, next: any): T {
  if (path.length === 0) return next;
  const [head, ...rest] = path;
  const container: any = Array.isArray(value) ? [...(value as any)] : { ...(value as any) };
  container[head as any] = setIn(container[head as any], rest, next);
  return container;
}

/** A copy of ``value`` with ``path`` removed (a list item or an object key). */
export function removeIn<T>(value: T, path: Path): T {
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  const parent = getIn(value, parentPath);
  let copy: any;
  if (Array.isArray(parent)) copy = parent.filter((_, i) => i !== key);
  else {
    copy = { ...parent };
    delete copy[key as any];
  }
  return setIn(value, parentPath, copy);
}

/** The routing of the flow: each node's targets, as the engine reads them (``next``, switch
 * cases and default, split arms; otherwise the next node in the list, or the end). */
export function flowEdges(doc: Doc): Edge[] {
  const nodes = nodesOf(doc);
  const edges: Edge[] = [];
  nodes.forEach((node, i) => {
    const following = i + 1 < nodes.length ? nodes[i + 1].id : END;
    const base: Path = ["nodes", i];
    if (node.type === "switch") {
      (node.cases || []).forEach((c: any, k: number) =>
        edges.push({ from: node.id, to: c.goto, label: c.when, path: [...base, "cases", k, "goto"] }),
      );
      if (node.default !== undefined)
        edges.push({ from: node.id, to: node.default, label: "default", path: [...base, "default"] });
      else edges.push({ from: node.id, to: following, label: "default" });
    } else if (node.type === "split") {
      (node.arms || []).forEach((a: any, k: number) =>
        edges.push({
          from: node.id,
          to: a.goto,
          label: `${a.name} ${a.share}%`,
          path: [...base, "arms", k, "goto"],
        }),
      );
    } else if (node.next !== undefined) {
      edges.push({ from: node.id, to: node.next, path: [...base, "next"] });
    } else {
      edges.push({ from: node.id, to: following });
    }
  });
  return edges;
}

export interface Placed {
  id: string;
  type: string;
  x: number;
  y: number;
}

/** A layered drawing: a node's column is its longest distance from the first node. */
export function layoutFlow(doc: Doc): { nodes: Placed[]; edges: Edge[]; width: number; height: number } {
  const nodes = nodesOf(doc);
  const edges = flowEdges(doc);
  const ids = [...nodes.map((n) => n.id), END];
  const depth = new Map<string, number>();
  if (nodes.length) depth.set(nodes[0].id, 0);
  // longest path on a DAG by relaxation (a cycle is the engine's error; cap the passes)
  for (let pass = 0; pass < ids.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const d = depth.get(e.from);
      if (d === undefined || !ids.includes(e.to)) continue;
      if ((depth.get(e.to) ?? -1) < d + 1) {
        depth.set(e.to, d + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = new Map<number, string[]>();
  for (const id of ids) {
    const d = depth.get(id);
    const col = d === undefined ? 0 : d;
    if (!depth.has(id) && id === END) continue;
    columns.set(col, [...(columns.get(col) || []), id]);
  }
  const typeOf = (id: string) => (id === END ? END : nodes.find((n) => n.id === id)?.type || "?");
  const placed: Placed[] = [];
  const colW = 170;
  const rowH = 74;
  let maxRows = 1;
  for (const [col, members] of [...columns.entries()].sort((a, b) => a[0] - b[0])) {
    maxRows = Math.max(maxRows, members.length);
    members.forEach((id, row) => placed.push({ id, type: typeOf(id), x: 20 + col * colW, y: 20 + row * rowH }));
  }
  const width = 40 + (Math.max(0, ...placed.map((p) => p.x)) + 130);
  return { nodes: placed, edges, width, height: 40 + maxRows * rowH };
}

/** Node ids in the order a decision's trace visited them. */
export function tracePath(trace: { node: string }[] | null | undefined): string[] {
  return (trace || []).map((t) => t.node);
}

// -- decision tables ----------------------------------------------------------------------

export interface TableNode extends FlowNode {
  inputs: string[];
  outputs: (string | { name: string; reason?: boolean })[];
  rules: any[][];
  hit_policy?: string;
}

export const outputName = (o: string | { name: string }) => (typeof o === "string" ? o : o.name);

export function tableHeaders(table: TableNode): { label: string; kind: "input" | "output" }[] {
  return [
    ...(table.inputs || []).map((c) => ({ label: typeof c === "string" ? c : String((c as any).field ?? (c as any).name), kind: "input" as const })),
    ...(table.outputs || []).map((o) => ({ label: outputName(o), kind: "output" as const })),
  ];
}

export function addRule(table: TableNode, at: number): TableNode {
  const width = (table.inputs?.length || 0) + (table.outputs?.length || 0);
  const blank = Array.from({ length: width }, () => "-");
  const rules = [...(table.rules || [])];
  rules.splice(at, 0, blank);
  return { ...table, rules };
}

export function deleteRule(table: TableNode, at: number): TableNode {
  return { ...table, rules: (table.rules || []).filter((_, i) => i !== at) };
}

export function moveRule(table: TableNode, at: number, by: -1 | 1): TableNode {
  const to = at + by;
  const rules = [...(table.rules || [])];
  if (to < 0 || to >= rules.length) return table;
  [rules[at], rules[to]] = [rules[to], rules[at]];
  return { ...table, rules };
}

export function setCell(table: TableNode, row: number, col: number, value: any): TableNode {
  const rules = (table.rules || []).map((r, i) => (i === row ? r.map((c, k) => (k === col ? value : c)) : r));
  return { ...table, rules };
}

/** How a cell is shown and typed: lists as comma-separated values, everything else as text. */
export function cellText(value: any): string {
  if (Array.isArray(value)) return `[${value.join(", ")}]`;
  if (value === null || value === undefined) return "";
  return String(value);
}

/** The typed text back as a document value (a number stays a number, [a, b] a list). */
export function parseCell(text: string): any {
  const trimmed = text.trim();
  if (/^\[.*\]$/.test(trimmed)) {
    const inner = trimmed.slice(1, -1).trim();
    return inner ? inner.split(",").map((s) => parseCell(s)) : [];
  }
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  return trimmed;
}

/** Instant checks while typing (the engine's answer follows): balanced quotes and brackets. */
export function quickCellProblem(text: string): string | null {
  let quote: string | null = null;
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if ("([{".includes(ch)) stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) return `unbalanced ${ch}`;
    }
  }
  if (quote) return `unclosed ${quote}`;
  if (stack.length) return `unclosed ${stack[stack.length - 1]}`;
  return null;
}

// -- diffs --------------------------------------------------------------------------------

export type Change = "same" | "changed" | "added" | "removed";

/** Per node id: whether it changed between two documents. */
export function nodeChanges(a: Doc, b: Doc): Map<string, Change> {
  const out = new Map<string, Change>();
  const before = new Map(nodesOf(a).map((n) => [n.id, n]));
  const after = new Map(nodesOf(b).map((n) => [n.id, n]));
  for (const [id, n] of after) {
    const old = before.get(id);
    out.set(id, old === undefined ? "added" : JSON.stringify(old) === JSON.stringify(n) ? "same" : "changed");
  }
  for (const id of before.keys()) if (!after.has(id)) out.set(id, "removed");
  return out;
}

/** Changed cells of two versions of a table, as "row:col" keys (rows aligned by position). */
export function tableCellChanges(a: TableNode | undefined, b: TableNode | undefined): Set<string> {
  const out = new Set<string>();
  const ra = a?.rules || [];
  const rb = b?.rules || [];
  for (let r = 0; r < Math.max(ra.length, rb.length); r++) {
    const width = Math.max(ra[r]?.length || 0, rb[r]?.length || 0);
    for (let c = 0; c < width; c++) {
      if (JSON.stringify(ra[r]?.[c]) !== JSON.stringify(rb[r]?.[c])) out.add(`${r}:${c}`);
    }
  }
  return out;
}

/** Bumps the last number of a version: 1.0.0 -> 1.0.1. */
export function bumpVersion(version: string): string {
  const m = /^(.*?)(\d+)([^\d]*)$/.exec(version);
  if (!m) return `${version}.1`;
  return `${m[1]}${Number(m[2]) + 1}${m[3]}`;
}

/** Which node (and table cell) an engine error's path points at. */
export function errorTarget(path: Path | null | undefined): { node?: number; row?: number; col?: number; key?: Path } {
  if (!path || path[0] !== "nodes" || typeof path[1] !== "number") return {};
  const node = path[1];
  if (path[2] === "rules" && typeof path[3] === "number") {
    return { node, row: path[3], col: typeof path[4] === "number" ? path[4] : undefined, key: path.slice(2) };
  }
  return { node, key: path.slice(2) };
}
