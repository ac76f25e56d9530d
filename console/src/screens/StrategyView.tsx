// One strategy version: read it, or edit a new version of it with the engine checking every
// change (the errors point at the node and the table cell), then simulate and submit.
import { useEffect, useRef, useState } from "react";
import { can, type User } from "../App";
import { ApiError, post } from "../lib/api";
import { FlowEditor } from "../editors/FlowEditor";
import { ParametersEditor } from "../editors/ParametersEditor";
import { RulesetEditor } from "../editors/RulesetEditor";
import { ScorecardEditor } from "../editors/ScorecardEditor";
import { TableEditor } from "../editors/TableEditor";
import { useGet } from "../lib/hooks";
import { useI18n, type Key } from "../lib/i18n";
import { bumpVersion, errorTarget, type Doc, type FlowNode, type TableNode } from "../lib/model";
import type { CheckResult, VersionInfo } from "../lib/types";
import { Simulation } from "./Simulation";

interface Stored extends VersionInfo {
  document: Doc;
  text: string;
}

export function NodeEditor({
  node,
  onChange,
  errorPath,
  warnings,
}: {
  node: FlowNode;
  onChange?: (node: FlowNode) => void;
  errorPath?: (string | number)[];
  warnings?: string[];
}) {
  const target = errorPath && errorPath[0] === "rules" && typeof errorPath[1] === "number" ? errorPath : null;
  if (node.type === "table")
    return (
      <TableEditor
        table={node as TableNode}
        onChange={onChange as ((t: TableNode) => void) | undefined}
        error={target ? { row: target[1] as number, col: typeof target[2] === "number" ? target[2] : undefined, message: "" } : null}
        warnings={warnings}
      />
    );
  if (node.type === "ruleset" || node.type === "rule") return <RulesetEditor node={node} onChange={onChange} errorPath={errorPath} />;
  if (node.type === "scorecard") return <ScorecardEditor node={node} onChange={onChange} errorPath={errorPath} />;
  return <JsonNodeEditor node={node} onChange={onChange} />;
}

function JsonNodeEditor({ node, onChange }: { node: FlowNode; onChange?: (node: FlowNode) => void }) {
  const [text, setText] = useState(() => JSON.stringify(node, null, 2));
  const [bad, setBad] = useState(false);
  useEffect(() => setText(JSON.stringify(node, null, 2)), [node.id]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <textarea
      className={bad ? "json cell-error" : "json"}
      value={text}
      readOnly={!onChange}
      rows={Math.min(30, text.split("\n").length + 1)}
      onChange={(e) => {
        setText(e.target.value);
        try {
          const parsed = JSON.parse(e.target.value);
          setBad(false);
          onChange?.(parsed);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}

export function StrategyView({ user, id, version, edit }: { user: User; id: string; version: string; edit: boolean }) {
  const { t } = useI18n();
  const path = `/strategies/${encodeURIComponent(id)}/${encodeURIComponent(version)}`;
  const { data, error } = useGet<Stored>(path);
  const [doc, setDoc] = useState<Doc | null>(null);
  const [selected, setSelected] = useState<string>("flow");
  const [check, setCheck] = useState<CheckResult | null>(null);
  const [checking, setChecking] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [simulate, setSimulate] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  const editing = edit && can(user, "draft");

  useEffect(() => {
    if (!data) return;
    const d = editing ? { ...data.document, version: bumpVersion(String(data.document.version)) } : data.document;
    setDoc(d);
    const firstTable = (d.nodes || []).find((n: FlowNode) => n.type === "table");
    setSelected(firstTable ? `node:${firstTable.id}` : "flow");
  }, [data, editing]);

  useEffect(() => {
    if (!doc || !editing) return;
    window.clearTimeout(timer.current);
    setChecking(true);
    timer.current = window.setTimeout(() => {
      post<CheckResult>("/strategies/check", { document: doc })
        .then(setCheck)
        .catch((e) => setNotice(e instanceof ApiError ? e.message : String(e)))
        .finally(() => setChecking(false));
    }, 250);
    return () => window.clearTimeout(timer.current);
  }, [doc, editing]);

  if (error) return <p className="error">{error.message}</p>;
  if (!data || !doc) return <p>{t("loading")}</p>;

  const nodes: FlowNode[] = doc.nodes || [];
  const err = check && !check.valid ? check.errors[0] : null;
  const where = errorTarget(err?.path);
  const errNodeId = where.node !== undefined ? nodes[where.node]?.id : err?.node;
  const change = editing ? setDoc : undefined;
  const setNode = (i: number) => (editing ? (n: FlowNode) => setDoc({ ...doc, nodes: nodes.map((x, k) => (k === i ? n : x)) }) : undefined);
  const warningsFor = (nodeId: string) => (check?.warnings || []).filter((w) => w.includes(`'${nodeId}'`));
  const submit = async () => {
    try {
      const out = await post<{ strategy_id: string; version: string }>("/strategies/drafts", { document: doc });
      setNotice(t("submitted", { id: out.strategy_id, version: out.version }));
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <section className="strategy-view">
      <h2>
        {editing ? t("editorTitle", { id, version }) : `${id} ${version}`}{" "}
        <span className={`status ${data.status}`}>{t(`draftStatus_${data.status}` as Key)}</span>
      </h2>
      {editing && (
        <div className="toolbar">
          <label>
            {t("newVersion")}{" "}
            <input data-testid="new-version" value={String(doc.version)} onChange={(e) => setDoc({ ...doc, version: e.target.value })} />
          </label>
          <button data-testid="simulate" onClick={() => setSimulate(true)} disabled={!check?.valid}>
            {t("simulate")}
          </button>
          <button data-testid="submit" className="primary" onClick={submit} disabled={!check?.valid || checking}>
            {t("submit")}
          </button>
        </div>
      )}
      {notice && <p className="notice" data-testid="notice">{notice}</p>}
      {editing && (
        <div className={`check ${checking ? "pending" : check?.valid ? "ok" : "bad"}`} data-testid="check">
          {checking || !check ? (
            t("checking")
          ) : check.valid ? (
            <span data-testid="check-ok">✓ {t("valid")}</span>
          ) : (
            <span data-testid="check-error">
              ✗ {t("invalid")}: <b>{errNodeId ? `${t("node")} ${errNodeId}` : ""}</b>
              {where.row !== undefined && ` · ${t("rowN", { n: where.row + 1 })}`}
              {where.col !== undefined && ` · ${t("colN", { n: where.col + 1 })}`}
              {where.row === undefined && err?.path && ` · ${err.path.slice(2).join(".")}`}
              <pre>{err?.message}</pre>
            </span>
          )}
          {check?.valid && (check.warnings.length ? (
            <ul className="warnings" data-testid="warnings">
              {check.warnings.map((w, i) => <li key={i}>⚠ {w}</li>)}
            </ul>
          ) : <span className="hint"> · {t("noWarnings")}</span>)}
        </div>
      )}
      <div className="split">
        <aside className="node-list">
          <button className={selected === "params" ? "current" : ""} onClick={() => setSelected("params")}>
            {t("parameters")}
          </button>
          <button className={selected === "flow" ? "current" : ""} onClick={() => setSelected("flow")} data-testid="select-flow">
            {t("flow")}
          </button>
          {nodes.map((n, i) => (
            <button
              key={n.id}
              data-testid={`select-node-${n.id}`}
              className={[selected === `node:${n.id}` ? "current" : "", errNodeId === n.id ? "has-error" : "", warningsFor(n.id).length ? "has-warning" : ""].join(" ")}
              onClick={() => setSelected(`node:${n.id}`)}
            >
              <span className="node-id">{n.id}</span> <small>{n.type}</small>
              {where.node === i && " ✗"}
            </button>
          ))}
        </aside>
        <div className="editor-pane">
          {selected === "params" && (
            <ParametersEditor
              parameters={doc.parameters}
              onChange={editing ? (p) => setDoc({ ...doc, parameters: p }) : undefined}
              errorKey={err?.path?.[0] === "parameters" ? String(err.path[1]) : undefined}
            />
          )}
          {selected === "flow" && <FlowEditor doc={doc} onChange={change} errorNode={errNodeId} onSelect={(nid) => nid !== "end" && setSelected(`node:${nid}`)} />}
          {nodes.map((n, i) =>
            selected === `node:${n.id}` ? (
              <div key={n.id}>
                <h3>
                  {n.id} <small>{n.type}</small>
                </h3>
                {n.description && <p className="hint">{n.description}</p>}
                <NodeEditor node={n} onChange={setNode(i)} errorPath={where.node === i ? where.key : undefined} warnings={warningsFor(n.id)} />
              </div>
            ) : null,
          )}
        </div>
      </div>
      {simulate && editing && <Simulation doc={doc} baseline={{ strategy_id: id, version }} onClose={() => setSimulate(false)} />}
      {!editing && (
        <details>
          <summary>{t("sourceText")}</summary>
          <pre className="source">{data.text}</pre>
        </details>
      )}
    </section>
  );
}
