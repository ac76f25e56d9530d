// The flow drawn as a graph (layered left to right) and its routing targets edited in place.
import { useI18n } from "../lib/i18n";
import { END, getIn, layoutFlow, nodesOf, setIn, type Doc, type Path } from "../lib/model";

const W = 130;
const H = 44;

interface Props {
  doc: Doc;
  onChange?: (doc: Doc) => void;
  /** node ids a decision passed through, drawn highlighted */
  highlight?: string[];
  /** node ids changed against another version */
  changed?: Map<string, string>;
  errorNode?: string;
  onSelect?: (id: string) => void;
}

export function FlowGraph({ doc, highlight, changed, errorNode, onSelect }: Omit<Props, "onChange">) {
  const { nodes, edges, width, height } = layoutFlow(doc);
  const at = new Map(nodes.map((n) => [n.id, n]));
  const visited = new Set(highlight || []);
  const order = highlight || [];
  const onPath = (from: string, to: string) => {
    const i = order.indexOf(from);
    return i >= 0 && (order[i + 1] === to || (to === END && i === order.length - 1));
  };
  return (
    <svg className="flow" width={width} height={height} data-testid="flow-graph" role="img">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#667" />
        </marker>
        <marker id="arrow-hot" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#d9480f" />
        </marker>
      </defs>
      {edges.map((e, i) => {
        const a = at.get(e.from);
        const b = at.get(e.to);
        if (!a || !b) return null;
        const hot = onPath(e.from, e.to);
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const back = x2 <= x1;
        const d = back
          ? `M${x1},${y1} C${x1 + 60},${y1 + 70} ${x2 - 60},${y2 + 70} ${x2},${y2}`
          : `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;
        return (
          <g key={i}>
            <path d={d} className={hot ? "edge hot" : "edge"} markerEnd={hot ? "url(#arrow-hot)" : "url(#arrow)"} />
            {e.label && (
              <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 4} className="edge-label">
                {e.label.length > 22 ? e.label.slice(0, 21) + "…" : e.label}
              </text>
            )}
          </g>
        );
      })}
      {nodes.map((n) => {
        const cls = [
          "node",
          n.type,
          visited.has(n.id) ? "visited" : "",
          changed?.get(n.id) && changed.get(n.id) !== "same" ? `diff-${changed.get(n.id)}` : "",
          errorNode === n.id ? "error" : "",
        ].join(" ");
        return (
          <g
            key={n.id}
            className={cls}
            transform={`translate(${n.x},${n.y})`}
            data-testid={`flow-node-${n.id}`}
            onClick={() => onSelect?.(n.id)}
          >
            <rect width={W} height={H} rx={n.id === END ? 22 : 6} />
            <text x={W / 2} y={18} textAnchor="middle" className="node-id">
              {n.id}
            </text>
            <text x={W / 2} y={34} textAnchor="middle" className="node-type">
              {n.type}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Every routing target of the flow as a choice of node: the graph redraws as they change. */
export function FlowEditor({ doc, onChange, errorNode, onSelect }: Props) {
  const { t } = useI18n();
  const { edges } = layoutFlow(doc);
  const ids = [...nodesOf(doc).map((n) => n.id), END];
  const editable = edges.filter((e) => e.path);
  const set = (path: Path, value: string) => onChange?.(setIn(doc, path, value));
  return (
    <div className="flow-editor">
      <div className="flow-scroll">
        <FlowGraph doc={doc} errorNode={errorNode} onSelect={onSelect} />
      </div>
      <h4>{t("routing")}</h4>
      <table className="grid routing" data-testid="routing">
        <thead>
          <tr>
            <th>{t("node")}</th>
            <th>{t("when")}</th>
            <th>{t("target")}</th>
          </tr>
        </thead>
        <tbody>
          {editable.map((e, i) => {
            const current = String(getIn(doc, e.path!));
            const known = ids.includes(current);
            return (
              <tr key={i} className={!known || errorNode === e.from ? "row-error" : ""}>
                <td>{e.from}</td>
                <td>{e.label || t("nextNode")}</td>
                <td>
                  <select
                    data-testid={`route-${e.path!.join(".")}`}
                    value={current}
                    disabled={!onChange}
                    onChange={(ev) => set(e.path!, ev.target.value)}
                  >
                    {!known && <option value={current}>{current} ⚠</option>}
                    {ids
                      .filter((id) => id !== e.from)
                      .map((id) => (
                        <option key={id} value={id}>
                          {id}
                        </option>
                      ))}
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
