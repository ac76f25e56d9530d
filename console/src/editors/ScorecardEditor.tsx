// Scorecards: base points, then per characteristic its bins and points.
import { useI18n } from "../lib/i18n";
import type { FlowNode } from "../lib/model";

interface Bin {
  when: string;
  points: number;
}
interface Characteristic {
  name: string;
  input: string;
  reason?: string;
  missing_points?: number;
  else_points?: number;
  bins: Bin[];
}

interface Props {
  node: FlowNode;
  onChange?: (node: FlowNode) => void;
  errorPath?: (string | number)[];
}

export function ScorecardEditor({ node, onChange, errorPath }: Props) {
  const { t } = useI18n();
  const chars: Characteristic[] = node.characteristics || [];
  const setChar = (i: number, c: Characteristic) =>
    onChange?.({ ...node, characteristics: chars.map((x, k) => (k === i ? c : x)) });
  const num = (text: string) => (text.trim() === "" || isNaN(Number(text)) ? text : Number(text));
  return (
    <div className="scorecard-editor">
      <label>
        {t("basePoints")}{" "}
        <input
          data-testid="base-points"
          value={String(node.base_points ?? 0)}
          readOnly={!onChange}
          onChange={(e) => onChange?.({ ...node, base_points: num(e.target.value) })}
        />
      </label>
      {chars.map((c, i) => {
        const bad = errorPath && errorPath[0] === "characteristics" && errorPath[1] === i;
        return (
          <fieldset key={i} className={bad ? "char error" : "char"}>
            <legend>
              {c.name} ← {c.input} {c.reason ? `(${c.reason})` : ""}
            </legend>
            <table className="grid">
              <thead>
                <tr>
                  <th>{t("bin")}</th>
                  <th>{t("points")}</th>
                  {onChange && <th />}
                </tr>
              </thead>
              <tbody>
                {c.bins.map((b, k) => (
                  <tr key={k}>
                    <td className="wide">
                      <input
                        data-testid={`bin-${i}-${k}`}
                        value={b.when}
                        readOnly={!onChange}
                        onChange={(e) =>
                          setChar(i, { ...c, bins: c.bins.map((x, j) => (j === k ? { ...x, when: e.target.value } : x)) })
                        }
                      />
                    </td>
                    <td>
                      <input
                        data-testid={`points-${i}-${k}`}
                        value={String(b.points)}
                        readOnly={!onChange}
                        onChange={(e) =>
                          setChar(i, {
                            ...c,
                            bins: c.bins.map((x, j) => (j === k ? { ...x, points: num(e.target.value) as number } : x)),
                          })
                        }
                      />
                    </td>
                    {onChange && (
                      <td className="row-actions">
                        <button onClick={() => setChar(i, { ...c, bins: c.bins.filter((_, j) => j !== k) })}>✕</button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
            {onChange && (
              <button onClick={() => setChar(i, { ...c, bins: [...c.bins, { when: "", points: 0 }] })}>
                + {t("addBin")}
              </button>
            )}
            {c.missing_points !== undefined && (
              <span className="hint">
                {" "}
                {t("missingPoints")}: {c.missing_points}
              </span>
            )}
          </fieldset>
        );
      })}
    </div>
  );
}
