// Rule sets (and single rules): a condition, what it sets, and its reason code.
import { useI18n } from "../lib/i18n";
import type { FlowNode } from "../lib/model";

function thenText(then: Record<string, unknown> | undefined): string {
  return Object.entries(then || {})
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

export function parseThen(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of text.split(",")) {
    const [k, ...rest] = part.split("=");
    if (!k.trim()) continue;
    const raw = rest.join("=").trim();
    let value: unknown = raw;
    if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    else if (raw === "true" || raw === "false") value = raw === "true";
    out[k.trim()] = value;
  }
  return out;
}

interface Rule {
  when: string;
  then?: Record<string, unknown>;
  reason?: string;
}

interface Props {
  node: FlowNode;
  onChange?: (node: FlowNode) => void;
  errorPath?: (string | number)[];
}

export function RulesetEditor({ node, onChange, errorPath }: Props) {
  const { t } = useI18n();
  const single = node.type === "rule";
  const rules: Rule[] = single ? [node as unknown as Rule] : node.rules || [];
  const update = (i: number, rule: Rule) => {
    if (!onChange) return;
    if (single) onChange({ ...node, ...rule });
    else onChange({ ...node, rules: rules.map((r, k) => (k === i ? rule : r)) });
  };
  const bad = (i: number) =>
    errorPath && (single ? true : errorPath[0] === "rules" && errorPath[1] === i);
  return (
    <div className="ruleset-editor">
      {!single && (
        <div className="toolbar">
          <span>mode: <b>{node.mode || "all"}</b></span>
          {onChange && (
            <button onClick={() => onChange({ ...node, rules: [...rules, { when: "false", then: {}, reason: "" }] })}>
              + {t("addRule")}
            </button>
          )}
        </div>
      )}
      <table className="grid">
        <thead>
          <tr>
            <th>#</th>
            <th>{t("when")}</th>
            <th>{t("then")}</th>
            <th>{t("reason")}</th>
            {onChange && !single && <th />}
          </tr>
        </thead>
        <tbody>
          {rules.map((rule, i) => (
            <tr key={i} className={bad(i) ? "row-error" : ""}>
              <td className="rownum">{i + 1}</td>
              <td className={bad(i) ? "cell-error wide" : "wide"}>
                <input
                  data-testid={`rule-when-${i}`}
                  value={rule.when}
                  readOnly={!onChange}
                  onChange={(e) => update(i, { ...rule, when: e.target.value })}
                />
              </td>
              <td>
                <input
                  defaultValue={thenText(rule.then)}
                  readOnly={!onChange}
                  onBlur={(e) => update(i, { ...rule, then: parseThen(e.target.value) })}
                />
              </td>
              <td>
                <input
                  value={rule.reason || ""}
                  readOnly={!onChange}
                  onChange={(e) => update(i, { ...rule, reason: e.target.value })}
                />
              </td>
              {onChange && !single && (
                <td className="row-actions">
                  <button onClick={() => onChange({ ...node, rules: rules.filter((_, k) => k !== i) })}>✕</button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
