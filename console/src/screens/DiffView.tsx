// Two versions side by side: the flow with changed nodes marked, every changed table with its
// changed cells highlighted, and the text diff.
import { FlowGraph } from "../editors/FlowEditor";
import { TableEditor } from "../editors/TableEditor";
import { useGet } from "../lib/hooks";
import { useI18n, type Key } from "../lib/i18n";
import { nodeChanges, nodesOf, tableCellChanges, type Doc, type TableNode } from "../lib/model";
import type { VersionInfo } from "../lib/types";

interface Diff {
  old: VersionInfo & { document: Doc };
  new: VersionInfo & { document: Doc };
  unified: string;
}

export function DiffView({ id, old, next }: { id: string; old: string; next: string }) {
  const { t } = useI18n();
  const { data, error } = useGet<Diff>(`/strategies/${encodeURIComponent(id)}/diff?old=${encodeURIComponent(old)}&new=${encodeURIComponent(next)}`);
  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p>{t("loading")}</p>;
  const changes = nodeChanges(data.old.document, data.new.document);
  const before = new Map(nodesOf(data.old.document).map((n) => [n.id, n]));
  const changedNodes = nodesOf(data.new.document).filter((n) => changes.get(n.id) !== "same");
  return (
    <section data-testid="diff-view">
      <h2>
        {id}: {old} ↔ {next}
      </h2>
      <div className="row">
        {(["old", "new"] as const).map((side) => (
          <div key={side} className="card half">
            <h3>
              {data[side].version} <span className={`status ${data[side].status}`}>{t(`draftStatus_${data[side].status}` as Key)}</span>
            </h3>
            <div className="flow-scroll">
              <FlowGraph doc={data[side].document} changed={changes} />
            </div>
          </div>
        ))}
      </div>
      {changedNodes.map((n) => {
        const old = before.get(n.id);
        const status = changes.get(n.id) as Key;
        return (
          <div key={n.id} className="card">
            <h3>
              {n.id} <small>{n.type}</small> <span className={`badge ${status}`}>{t(status)}</span>
            </h3>
            {n.type === "table" ? (
              <div className="row">
                <div className="half">{old && <TableEditor table={old as TableNode} changed={tableCellChanges(n as TableNode, old as TableNode)} />}</div>
                <div className="half" data-testid={`diff-table-${n.id}`}>
                  <TableEditor table={n as TableNode} changed={tableCellChanges(old as TableNode, n as TableNode)} />
                </div>
              </div>
            ) : (
              <div className="row">
                <pre className="half source">{old ? JSON.stringify(old, null, 2) : ""}</pre>
                <pre className="half source changed">{JSON.stringify(n, null, 2)}</pre>
              </div>
            )}
          </div>
        );
      })}
      <details open={changedNodes.length === 0}>
        <summary>{t("sourceText")}</summary>
        <pre className="source">
          {data.unified.split("\n").map((line, i) => (
            <div key={i} className={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""}>
              {line}
            </div>
          ))}
        </pre>
      </details>
    </section>
  );
}
