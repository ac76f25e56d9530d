// The strategy's declared parameters: defaults edited within their bounds.
import { useI18n } from "../lib/i18n";

export interface ParameterDecl {
  type: string;
  default: number | string | boolean;
  min?: number;
  max?: number;
  enum?: unknown[];
  description?: string;
}

interface Props {
  parameters: Record<string, ParameterDecl> | undefined;
  onChange?: (parameters: Record<string, ParameterDecl>) => void;
  errorKey?: string;
}

export function ParametersEditor({ parameters, onChange, errorKey }: Props) {
  const { t } = useI18n();
  const entries = Object.entries(parameters || {});
  if (!entries.length) return <p className="hint">{t("noData")}</p>;
  const set = (name: string, decl: ParameterDecl) => onChange?.({ ...parameters, [name]: decl });
  return (
    <table className="grid params" data-testid="parameters">
      <thead>
        <tr>
          <th>{t("name")}</th>
          <th>{t("type")}</th>
          <th>{t("default")}</th>
          <th>{t("min")}</th>
          <th>{t("max")}</th>
          <th>{t("description")}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([name, decl]) => {
          const numeric = decl.type === "integer" || decl.type === "number";
          const outside =
            numeric &&
            typeof decl.default === "number" &&
            ((decl.min !== undefined && decl.default < decl.min) || (decl.max !== undefined && decl.default > decl.max));
          return (
            <tr key={name}>
              <td>{name}</td>
              <td>{decl.type}</td>
              <td className={outside || errorKey === name ? "cell-error" : ""}>
                <input
                  data-testid={`param-${name}`}
                  value={String(decl.default)}
                  readOnly={!onChange}
                  onChange={(e) => {
                    const raw = e.target.value;
                    const value = numeric && raw.trim() !== "" && !isNaN(Number(raw)) ? Number(raw) : raw;
                    set(name, { ...decl, default: decl.type === "boolean" ? raw === "true" : value });
                  }}
                />
              </td>
              <td>{decl.min ?? ""}</td>
              <td>{decl.max ?? ""}</td>
              <td>{decl.description || ""}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
