// Champion against challengers (confidence intervals), PSI and approval rate over time.
import { useState } from "react";
import { ApiError, post } from "../lib/api";
import { HeatMap, IntervalBars, LineChart, pct } from "../lib/charts";
import { useGet } from "../lib/hooks";
import { useI18n } from "../lib/i18n";
import type { StrategySummary } from "../lib/types";

/* eslint-disable @typescript-eslint/no-explicit-any */

export function Dashboards() {
  const { t } = useI18n();
  const live = useGet<any[]>("/dashboards/deployments");
  const strategies = useGet<StrategySummary[]>("/strategies");
  const [deployment, setDeployment] = useState<number | null>(null);
  const [strategy, setStrategy] = useState<string>("");
  const chosen = deployment ?? live.data?.find((d) => d.challengers.length)?.deployment_id ?? live.data?.[0]?.deployment_id ?? null;
  const compare = useGet<any>(chosen !== null ? `/dashboards/compare/${chosen}` : null);
  const sid = strategy || strategies.data?.[0]?.strategy_id || "";
  const monitor = useGet<any>(sid ? `/dashboards/monitor?strategy_id=${encodeURIComponent(sid)}&days=28` : null);
  const windows: any[] = monitor.data?.windows || [];
  const columns: any[] = Array.isArray(monitor.data?.columns) ? monitor.data.columns : [];
  const topColumns = columns.slice(0, 3).map((c: any) => c.column ?? c.name);
  return (
    <section>
      <h2>{t("dashboards")}</h2>
      <div className="card" data-testid="dash-compare">
        <h3>{t("challengerCompare")}</h3>
        <select value={chosen ?? ""} onChange={(e) => setDeployment(Number(e.target.value))}>
          {(live.data || []).map((d) => (
            <option key={d.deployment_id} value={d.deployment_id}>
              #{d.deployment_id} {d.product}/{d.channel} {d.strategy_id} {d.champion}
              {d.challengers.length ? ` vs ${d.challengers.map((c: any) => c.version).join(", ")}` : ""}
            </option>
          ))}
        </select>
        {compare.error && <p className="error">{compare.error.message}</p>}
        {compare.data?.arms && (
          <>
            <IntervalBars
              testId="arm-bars"
              rows={compare.data.arms.map((a: any) => ({
                label: `${a.arm} (n=${a.n})`,
                value: a.approval_rate,
                lo: a.approval_rate_ci?.[0],
                hi: a.approval_rate_ci?.[1],
              }))}
            />
            <table className="list">
              <thead>
                <tr>
                  <th>{t("arm")}</th>
                  <th>n</th>
                  <th>{t("approvalRate")}</th>
                  <th>95% CI</th>
                  <th>bad rate</th>
                </tr>
              </thead>
              <tbody>
                {compare.data.arms.map((a: any) => (
                  <tr key={a.arm}>
                    <td>{a.arm}</td>
                    <td>{a.n}</td>
                    <td>{pct(a.approval_rate)}</td>
                    <td>{a.approval_rate_ci ? `${pct(a.approval_rate_ci[0])} – ${pct(a.approval_rate_ci[1])}` : "—"}</td>
                    <td>{pct(a.bad_rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
      <div className="card" data-testid="dash-monitor">
        <h3>{t("monitoring")}</h3>
        <select value={sid} onChange={(e) => setStrategy(e.target.value)}>
          {(strategies.data || []).map((s) => (
            <option key={s.strategy_id}>{s.strategy_id}</option>
          ))}
        </select>
        {monitor.error && <p className="error">{monitor.error.message}</p>}
        {windows.length === 0 ? (
          <p className="hint">{t("noData")}</p>
        ) : (
          <div className="row">
            <div>
              <h4>{t("approvalRate")}</h4>
              <LineChart
                testId="approval-over-time"
                xFormat={(v) => new Date(v).toISOString().slice(5, 10)}
                series={[{ name: t("approvalRate"), points: windows.map((w: any) => ({ x: Date.parse(w.start ?? w.window), y: w.approval_rate ?? null })) }]}
              />
            </div>
            <div>
              <h4>{t("psi")}</h4>
              <LineChart
                testId="psi-over-time"
                yFormat={(v) => v.toFixed(2)}
                xFormat={(v) => new Date(v).toISOString().slice(5, 10)}
                series={topColumns.map((c: string) => ({
                  name: c,
                  points: windows.map((w: any) => ({ x: Date.parse(w.start ?? w.window), y: (w.psi ?? w.columns ?? {})[c] ?? null })),
                }))}
              />
            </div>
          </div>
        )}
      </div>
      <Lifecycle />
    </section>
  );
}

/** Vintage curves and roll rates of an account-month status file (loaded here). */
function Lifecycle() {
  const { t } = useI18n();
  const [data, setData] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  const load = (f: File | undefined) => {
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () =>
      post<any>("/dashboards/lifecycle", { file: String(reader.result), format: f.name.endsWith(".parquet") ? "parquet" : "csv" })
        .then((d) => (setData(d), setError(null)))
        .catch((e) => setError(e instanceof ApiError ? e.message : String(e)));
    reader.readAsDataURL(f);
  };
  const rr = data?.roll_rates;
  return (
    <div className="card" data-testid="dash-lifecycle">
      <h3>
        {t("vintages")} / {t("rollRates")}
      </h3>
      <input type="file" accept=".csv,.parquet" onChange={(e) => load(e.target.files?.[0])} data-testid="status-file" />
      {error && <p className="error">{error}</p>}
      {!data && <p className="hint">{t("noData")}</p>}
      {data && (
        <div className="row">
          <div>
            <h4>{t("vintages")} (ever 30+)</h4>
            <LineChart
              testId="vintage-chart"
              xFormat={(v) => `${Math.round(v)}`}
              series={data.vintages.map((v: any) => ({ name: String(v.cohort), points: v.mob.map((m: number, i: number) => ({ x: m, y: v.ever_30[i] })) }))}
            />
          </div>
          <div>
            <h4>{t("rollRates")}</h4>
            <HeatMap
              rows={rr.buckets}
              cols={rr.buckets}
              rowTitle="m"
              colTitle="m+1"
              value={(r, c) => rr.counts[rr.buckets.indexOf(r)][rr.buckets.indexOf(c)]}
            />
          </div>
        </div>
      )}
    </div>
  );
}
