import { useState } from "react";
import { query } from "../lib/api";
import { useGet } from "../lib/hooks";
import { useI18n } from "../lib/i18n";
import { href } from "../lib/route";

interface Summary {
  decision_id: string;
  partner_id: string;
  product: string;
  channel: string;
  decision: string | null;
  reasons: string[];
  strategy_id: string;
  strategy_version: string;
  arm: string;
  latency_ms: number;
  created_at: string | null;
}

export function Explorer() {
  const { t } = useI18n();
  const [f, setF] = useState({ decision_id: "", start: "", end: "", product: "", outcome: "", reason: "", arm: "" });
  const [q, setQ] = useState("");
  const { data, error } = useGet<{ items: Summary[]; more: boolean }>(`/decisions${q}`);
  const search = (e: React.FormEvent) => {
    e.preventDefault();
    setQ(
      query({
        ...f,
        start: f.start ? `${f.start}T00:00:00Z` : "",
        end: f.end ? `${f.end}T23:59:59Z` : "",
        limit: 100,
      }),
    );
  };
  const field = (key: keyof typeof f, label: string, type = "text") => (
    <label>
      {label} <input data-testid={`q-${key}`} type={type} value={f[key]} onChange={(e) => setF({ ...f, [key]: e.target.value })} />
    </label>
  );
  return (
    <section>
      <h2>{t("explorer")}</h2>
      <form className="toolbar filters" onSubmit={search}>
        {field("decision_id", t("decisionId"))}
        {field("start", t("from"), "date")}
        {field("end", t("to"), "date")}
        {field("product", t("product"))}
        {field("outcome", t("outcome"))}
        {field("reason", t("reason"))}
        {field("arm", t("arm"))}
        <button type="submit" className="primary" data-testid="q-search">
          {t("search")}
        </button>
      </form>
      {error && <p className="error">{error.message}</p>}
      {data && data.items.length === 0 && <p>{t("noResults")}</p>}
      {data && data.items.length > 0 && (
        <table className="list" data-testid="decisions">
          <thead>
            <tr>
              <th>{t("decisionId")}</th>
              <th>{t("created")}</th>
              <th>{t("product")}</th>
              <th>{t("channel")}</th>
              <th>{t("outcome")}</th>
              <th>{t("reasons")}</th>
              <th>{t("version")}</th>
              <th>{t("arm")}</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((d) => (
              <tr key={d.decision_id}>
                <td>
                  <a href={href("decisions", d.decision_id)} data-testid="decision-link">
                    {d.decision_id.slice(0, 14)}…
                  </a>
                </td>
                <td>{d.created_at?.slice(0, 19).replace("T", " ")}</td>
                <td>{d.product}</td>
                <td>{d.channel}</td>
                <td>
                  <span className={`outcome ${d.decision}`}>{d.decision}</span>
                </td>
                <td>{d.reasons.join(", ")}</td>
                <td>
                  {d.strategy_id} {d.strategy_version}
                </td>
                <td>{d.arm}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
