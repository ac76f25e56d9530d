// One stored decision: masked inputs, the path drawn on the flow, each node's trace, reasons in
// the chosen language, the offer and its repayment schedule.
import { FlowGraph } from "../editors/FlowEditor";
import { useGet } from "../lib/hooks";
import { reasonText, useI18n } from "../lib/i18n";
import { tracePath, type Doc } from "../lib/model";

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Detail {
  decision_id: string;
  partner_id: string;
  product: string;
  channel: string;
  decision: string | null;
  strategy_id: string;
  strategy_version: string;
  arm: string;
  latency_ms: number;
  created_at: string | null;
  application: Record<string, unknown>;
  outputs: Record<string, unknown>;
  reason_texts: { code: string; text: string; text_zh: string; node: string; weight: number }[];
  trace: { node: string; type: string; inputs: any; outputs: any; matched: any; elapsed_us: number }[] | null;
  parameters: Record<string, unknown> | null;
  offer: any;
  document: Doc | null;
}

const show = (v: unknown) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

export function DecisionView({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { data, error } = useGet<Detail>(`/decisions/${encodeURIComponent(id)}`);
  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p>{t("loading")}</p>;
  const path = tracePath(data.trace);
  const schedule: any[] | null = data.offer?.instalments || null;
  return (
    <section data-testid="decision-view">
      <h2>
        {t("decision")} {data.decision_id}{" "}
        <span className={`outcome ${data.decision}`} data-testid="decision-outcome">
          {data.decision}
        </span>
      </h2>
      <p className="hint">
        {data.strategy_id} {data.strategy_version} · {t("arm")} {data.arm} · {data.product}/{data.channel} · {t("latency")}{" "}
        {data.latency_ms.toFixed(2)} ms · {data.created_at}
      </p>
      <div className="row">
        <div className="card half">
          <h3>{t("reasons")}</h3>
          <ul data-testid="decision-reasons">
            {data.reason_texts.map((r, i) => (
              <li key={i}>
                <b>{r.code}</b> {reasonText(lang, r)} <small>({r.node})</small>
              </li>
            ))}
          </ul>
          <h3>{t("outputs")}</h3>
          <table className="list kv">
            <tbody>
              {Object.entries(data.outputs || {}).map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td>{show(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.parameters && (
            <p className="hint">
              {t("parameters")}: {JSON.stringify(data.parameters)}
            </p>
          )}
        </div>
        <div className="card half">
          <h3>{t("inputs")}</h3>
          <table className="list kv" data-testid="decision-inputs">
            <tbody>
              {Object.entries(data.application || {}).map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td>{show(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {data.document && (
        <div className="card">
          <h3>{t("path")}</h3>
          <div className="flow-scroll">
            <FlowGraph doc={data.document} highlight={path} />
          </div>
        </div>
      )}
      <div className="card">
        <h3>{t("trace")}</h3>
        {data.trace ? (
          <table className="list" data-testid="decision-trace">
            <thead>
              <tr>
                <th>{t("node")}</th>
                <th>{t("type")}</th>
                <th>matched</th>
                <th>{t("outputs")}</th>
                <th>µs</th>
              </tr>
            </thead>
            <tbody>
              {data.trace.map((s, i) => (
                <tr key={i}>
                  <td>{s.node}</td>
                  <td>{s.type}</td>
                  <td>{show(s.matched)}</td>
                  <td>{show(s.outputs)}</td>
                  <td>{s.elapsed_us?.toFixed?.(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="hint">{t("noData")}</p>
        )}
      </div>
      <div className="card" data-testid="decision-offer">
        <h3>{t("offer")}</h3>
        {data.offer ? (
          <>
            <table className="list kv">
              <tbody>
                {Object.entries(data.offer)
                  .filter(([k]) => k !== "instalments")
                  .map(([k, v]) => (
                    <tr key={k}>
                      <td>{k}</td>
                      <td>{show(v)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
            {Array.isArray(schedule) && schedule.length > 0 && (
              <>
                <h4>{t("schedule")}</h4>
                <table className="list" data-testid="schedule">
                  <thead>
                    <tr>
                      {Object.keys(schedule[0]).map((k) => (
                        <th key={k}>{k}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {schedule.map((row, i) => (
                      <tr key={i}>
                        {Object.values(row).map((v, k) => (
                          <td key={k}>{show(v)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        ) : (
          <p className="hint">{t("noOffer")}</p>
        )}
      </div>
    </section>
  );
}
