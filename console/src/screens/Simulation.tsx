// A draft against the published version on a sample: the lab's backtest (rates, swap set,
// decline reasons, by partner and channel) and a parameter's strategy curve with a slider.
import { useMemo, useState } from "react";
import { ApiError, post } from "../lib/api";
import { HeatMap, LineChart, pct } from "../lib/charts";
import { useI18n, type Key } from "../lib/i18n";
import type { Doc } from "../lib/model";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Result = any;

const DAY = 86_400_000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export function Simulation({ doc, baseline, onClose }: { doc: Doc; baseline: { strategy_id: string; version: string }; onClose: () => void }) {
  const { t, lang } = useI18n();
  const [kind, setKind] = useState<"stored" | "upload">("stored");
  const [start, setStart] = useState(isoDay(new Date(Date.now() - 30 * DAY)));
  const [end, setEnd] = useState(isoDay(new Date(Date.now() + DAY)));
  const [file, setFile] = useState<{ data: string; format: "csv" | "parquet" } | null>(null);
  const numericParams = Object.entries(doc.parameters || {}).filter(([, d]: [string, any]) => d.type === "integer" || d.type === "number");
  const [parameter, setParameter] = useState<string>(numericParams[0]?.[0] || "");
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [slider, setSlider] = useState<number | null>(null);

  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const sample =
        kind === "stored"
          ? { kind, start: `${start}T00:00:00Z`, end: `${end}T00:00:00Z` }
          : { kind, file: file?.data, format: file?.format };
      const out = await post<Result>("/simulate", {
        document: doc,
        baseline_version: null,
        sample,
        segments: ["partner_id", "channel", "partner"],
        parameter: parameter || null,
      });
      setResult(out);
      setSlider(out.curve ? Number(out.curve.current) : null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setRunning(false);
    }
  };

  const onFile = (f: File | undefined) => {
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () => setFile({ data: String(reader.result), format: f.name.endsWith(".parquet") ? "parquet" : "csv" });
    reader.readAsDataURL(f);
  };

  const reasonText = (code: string, fallback: string) => {
    const entry = doc.reasons?.[code];
    return entry ? (lang === "zh" ? entry.zh || entry.en : entry.en) : fallback;
  };

  const swap = useMemo(() => {
    if (!result?.draft?.swap_set) return null;
    const cells = new Map<string, number>();
    const labels = new Set<string>();
    for (const s of result.draft.swap_set) {
      // the draft is the backtest's A, the published version its B: rows published, columns draft
      cells.set(`${s.b}|${s.a}`, s.count);
      labels.add(s.a);
      labels.add(s.b);
    }
    const order = ["approve", "refer", "decline"].filter((l) => labels.has(l)).concat([...labels].filter((l) => !["approve", "refer", "decline"].includes(l)));
    return { order, value: (r: string, c: string) => cells.get(`${r}|${c}`) || 0 };
  }, [result]);

  const reasons = useMemo(() => {
    if (!result) return [];
    const base = new Map<string, number>((result.published.decline_reasons || []).map((r: any) => [r.code, r.count]));
    const draft = new Map<string, any>((result.draft.decline_reasons || []).map((r: any) => [r.code, r]));
    const codes = new Set<string>([...base.keys(), ...draft.keys()]);
    return [...codes].map((code) => ({
      code,
      text: reasonText(code, draft.get(code)?.text || code),
      published: base.get(code) || 0,
      draft: draft.get(code)?.count || 0,
    })).sort((a, b) => Math.abs(b.draft - b.published) - Math.abs(a.draft - a.published));
  }, [result, lang]); // eslint-disable-line react-hooks/exhaustive-deps

  const curvePoint = result?.curve?.points?.reduce(
    (best: any, p: any) => (best === null || Math.abs(p.value - (slider ?? 0)) < Math.abs(best.value - (slider ?? 0)) ? p : best),
    null,
  );

  return (
    <div className="card simulation" data-testid="simulation">
      <h3>
        {t("simulation")} <small>{t("baseline")}: {baseline.strategy_id}</small>
        <button className="subtle" onClick={onClose}>
          {t("close")}
        </button>
      </h3>
      <div className="toolbar">
        <label>
          <input type="radio" checked={kind === "stored"} onChange={() => setKind("stored")} /> {t("storedDecisions")}
        </label>
        {kind === "stored" && (
          <>
            <label>
              {t("from")} <input type="date" value={start} onChange={(e) => setStart(e.target.value)} data-testid="sim-start" />
            </label>
            <label>
              {t("to")} <input type="date" value={end} onChange={(e) => setEnd(e.target.value)} data-testid="sim-end" />
            </label>
          </>
        )}
        <label>
          <input type="radio" checked={kind === "upload"} onChange={() => setKind("upload")} data-testid="sim-upload-kind" /> {t("uploadFile")}
        </label>
        {kind === "upload" && <input type="file" accept=".csv,.parquet" data-testid="sim-file" onChange={(e) => onFile(e.target.files?.[0])} />}
        {numericParams.length > 0 && (
          <label>
            {t("parameterCurve")}{" "}
            <select value={parameter} onChange={(e) => setParameter(e.target.value)}>
              <option value="">—</option>
              {numericParams.map(([name]) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
        )}
        <button className="primary" onClick={run} disabled={running} data-testid="sim-run">
          {running ? t("loading") : t("run")}
        </button>
      </div>
      {error && <p className="error" data-testid="sim-error">{error}</p>}
      {result && (
        <div data-testid="sim-result">
          <p>
            {result.n.toLocaleString()} {t("rows")} · {t("baseline")} {result.baseline.version}
          </p>
          <table className="list rates" data-testid="sim-rates">
            <thead>
              <tr>
                <th />
                <th>{t("baseline")}</th>
                <th>{t("draft")}</th>
                <th>Δ</th>
              </tr>
            </thead>
            <tbody>
              {(["approval_rate", "refer_rate", "decline_rate"] as const).map((k) => (
                <tr key={k}>
                  <td>{t(`rate_${k}` as Key)}</td>
                  <td>{pct(result.draft.against[k])}</td>
                  <td>{pct(result.draft[k])}</td>
                  <td className={Math.abs(result.draft[k] - result.draft.against[k]) < 1e-12 ? "" : result.draft[k] > result.draft.against[k] ? "up" : "down"}>
                    {((result.draft[k] - result.draft.against[k]) * 100).toFixed(2)} pt
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row">
            {swap && (
              <div>
                <h4>{t("swapSet")}</h4>
                <HeatMap rows={swap.order} cols={swap.order} value={swap.value} rowTitle={t("baseline")} colTitle={t("draft")} />
              </div>
            )}
            <div>
              <h4>{t("ruleHits")}</h4>
              <table className="list" data-testid="sim-reasons">
                <thead>
                  <tr>
                    <th>{t("reason")}</th>
                    <th>{t("baseline")}</th>
                    <th>{t("draft")}</th>
                    <th>Δ</th>
                  </tr>
                </thead>
                <tbody>
                  {reasons.slice(0, 12).map((r) => (
                    <tr key={r.code}>
                      <td>
                        <b>{r.code}</b> {r.text}
                      </td>
                      <td>{r.published}</td>
                      <td>{r.draft}</td>
                      <td className={r.draft > r.published ? "up" : r.draft < r.published ? "down" : ""}>{r.draft - r.published}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
          {(result.draft.by_segment || []).length > 0 && (
            <>
              <h4>
                {t("byPartner")} / {t("byChannel")}
              </h4>
              <table className="list" data-testid="sim-segments">
                <thead>
                  <tr>
                    <th>{t("type")}</th>
                    <th>{t("name")}</th>
                    <th>n</th>
                    <th>{t("baseline")}</th>
                    <th>{t("draft")}</th>
                  </tr>
                </thead>
                <tbody>
                  {result.draft.by_segment.map((s: any, i: number) => (
                    <tr key={i}>
                      <td>{s.segment}</td>
                      <td>{String(s.value ?? s.key ?? "")}</td>
                      <td>{s.n}</td>
                      <td>{pct(s.b_approval_rate ?? s.against?.approval_rate)}</td>
                      <td>{pct(s.approval_rate)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {result.curve && (
            <div data-testid="sim-curve">
              <h4>
                {t("parameterCurve")}: {result.curve.parameter}
              </h4>
              <input
                type="range"
                data-testid="param-slider"
                min={result.curve.points[0].value}
                max={result.curve.points[result.curve.points.length - 1].value}
                step={(result.curve.points[1]?.value - result.curve.points[0].value) || 1}
                value={slider ?? 0}
                onChange={(e) => setSlider(Number(e.target.value))}
              />{" "}
              <b>{slider}</b> → {t("approvalRate")} <b data-testid="curve-rate">{pct(curvePoint?.approval_rate)}</b>
              <LineChart
                testId="curve-chart"
                marker={slider ?? undefined}
                series={[{ name: t("approvalRate"), points: result.curve.points.map((p: any) => ({ x: p.value, y: p.approval_rate })) }]}
              />
            </div>
          )}
        </div>
      )}
    </div>
  );
}
