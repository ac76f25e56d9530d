// A spreadsheet-like grid for a decision table: one row per rule, input tests then outputs.
// Cells are typed as in the YAML file ("< 500", "[700..739]", "-", [own, mortgage]).
import { useRef } from "react";
import { useI18n } from "../lib/i18n";
import {
  addRule,
  cellText,
  deleteRule,
  moveRule,
  parseCell,
  quickCellProblem,
  setCell,
  tableHeaders,
  type TableNode,
} from "../lib/model";

export interface CellError {
  row: number;
  col?: number;
  message: string;
}

interface Props {
  table: TableNode;
  onChange?: (table: TableNode) => void;
  error?: CellError | null;
  warnings?: string[];
  changed?: Set<string>;
}

export function TableEditor({ table, onChange, error, warnings, changed }: Props) {
  const { t } = useI18n();
  const grid = useRef<HTMLTableElement>(null);
  const headers = tableHeaders(table);
  const readOnly = !onChange;
  const focus = (row: number, col: number) => {
    const el = grid.current?.querySelector<HTMLInputElement>(`[data-cell="${row}:${col}"]`);
    el?.focus();
    el?.select();
  };
  const onKey = (e: React.KeyboardEvent<HTMLInputElement>, row: number, col: number) => {
    if (e.key === "Enter" || e.key === "ArrowDown") {
      e.preventDefault();
      focus(row + 1, col);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      focus(row - 1, col);
    }
  };
  return (
    <div className="table-editor">
      <div className="toolbar">
        <span>
          {t("hitPolicy")}: <b>{table.hit_policy || "first"}</b>
        </span>
        <span className="hint">{t("anyValue")}</span>
        {!readOnly && (
          <button data-testid="add-rule" onClick={() => onChange!(addRule(table, table.rules?.length || 0))}>
            + {t("addRule")}
          </button>
        )}
      </div>
      <div className="grid-scroll">
        <table className="grid" ref={grid} data-testid={`table-${table.id}`}>
          <thead>
            <tr>
              <th>#</th>
              {headers.map((h, i) => (
                <th key={i} className={h.kind}>
                  {h.label}
                </th>
              ))}
              {!readOnly && <th />}
            </tr>
          </thead>
          <tbody>
            {(table.rules || []).map((rule, r) => (
              <tr key={r} className={error && error.row === r ? "row-error" : ""}>
                <td className="rownum">{r + 1}</td>
                {rule.map((cell, c) => {
                  const text = cellText(cell);
                  const quick = quickCellProblem(text);
                  const bad = (error && error.row === r && (error.col === undefined || error.col === c)) || quick;
                  const cls = [
                    headers[c]?.kind || "",
                    bad ? "cell-error" : "",
                    changed?.has(`${r}:${c}`) ? "cell-changed" : "",
                  ].join(" ");
                  return (
                    <td key={c} className={cls}>
                      <input
                        data-cell={`${r}:${c}`}
                        data-testid={`cell-${r}-${c}`}
                        value={text}
                        readOnly={readOnly}
                        title={quick || (bad && error ? error.message : "")}
                        aria-invalid={bad ? true : undefined}
                        onKeyDown={(e) => onKey(e, r, c)}
                        onChange={(e) => onChange?.(setCell(table, r, c, parseCell(e.target.value)))}
                      />
                    </td>
                  );
                })}
                {!readOnly && (
                  <td className="row-actions">
                    <button title={t("moveUp")} onClick={() => onChange!(moveRule(table, r, -1))}>
                      ↑
                    </button>
                    <button title={t("moveDown")} onClick={() => onChange!(moveRule(table, r, 1))}>
                      ↓
                    </button>
                    <button title={t("addRule")} onClick={() => onChange!(addRule(table, r + 1))}>
                      +
                    </button>
                    <button
                      title={t("deleteRule")}
                      data-testid={`delete-rule-${r}`}
                      onClick={() => onChange!(deleteRule(table, r))}
                    >
                      ✕
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {warnings && warnings.length > 0 && (
        <ul className="warnings" data-testid="table-warnings">
          {warnings.map((w, i) => (
            <li key={i}>⚠ {w}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
