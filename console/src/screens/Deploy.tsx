// Deployments: champion, challengers with shares, shadows, parameter overrides, rollback.
import { useMemo, useState } from "react";
import { can, type User } from "../App";
import { ApiError, post } from "../lib/api";
import { useGet } from "../lib/hooks";
import { useI18n } from "../lib/i18n";
import type { StrategySummary } from "../lib/types";

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Deployment {
  deployment_id: number;
  partner_id: string;
  product: string;
  channel: string;
  strategy_id: string;
  champion: string;
  challengers: { version: string; share: number }[];
  shadows: string[];
  parameters: Record<string, unknown> | null;
  active: boolean;
  created_at: string | null;
}

export function Deploy({ user }: { user: User }) {
  const { t } = useI18n();
  const deployments = useGet<Deployment[]>("/deployments");
  const strategies = useGet<StrategySummary[]>("/strategies");
  const partners = useGet<{ partner_id: string; name: string }[]>("/partners");
  const [form, setForm] = useState({ partner_id: "", product: "", channel: "*", strategy_id: "", champion: "" });
  const [challengers, setChallengers] = useState<{ version: string; share: number }[]>([]);
  const [shadows, setShadows] = useState<string[]>([]);
  const [overrides, setOverrides] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const published = useMemo(
    () => (strategies.data?.find((s) => s.strategy_id === form.strategy_id)?.versions || []).filter((v) => v.status === "published").map((v) => v.version),
    [strategies.data, form.strategy_id],
  );
  const approver = can(user, "approve");
  const use = (d: Deployment) => {
    setForm({ partner_id: d.partner_id, product: d.product, channel: d.channel, strategy_id: d.strategy_id, champion: d.champion });
    setChallengers(d.challengers);
    setShadows(d.shadows);
    setOverrides(d.parameters ? Object.entries(d.parameters).map(([k, v]) => `${k}=${v}`).join(", ") : "");
  };
  const parseOverrides = (): Record<string, unknown> | undefined => {
    const out: Record<string, unknown> = {};
    for (const part of overrides.split(",").map((s) => s.trim()).filter(Boolean)) {
      const [k, v] = part.split("=");
      out[k.trim()] = isNaN(Number(v)) ? v.trim() : Number(v);
    }
    return Object.keys(out).length ? out : undefined;
  };
  const deploy = async () => {
    try {
      const body: any = { ...form, challengers, shadows };
      const params = parseOverrides();
      if (params) body.parameters = params;
      const out = await post<Deployment>("/deployments", body);
      setNotice(`${t("deployed")}: #${out.deployment_id} ${out.strategy_id} ${out.champion}`);
      deployments.reload();
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  };
  const rollback = async (d: Deployment) => {
    try {
      const out = await post<Deployment>("/deployments/rollback", { partner_id: d.partner_id, product: d.product, channel: d.channel });
      setNotice(`${t("rollback")}: #${out.deployment_id} ${out.champion}`);
      deployments.reload();
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  };
  const partnerName = (id: string) => partners.data?.find((p) => p.partner_id === id)?.name || id;
  return (
    <section>
      <h2>{t("deployments")}</h2>
      {notice && <p className="notice" data-testid="notice">{notice}</p>}
      <table className="list" data-testid="deployments">
        <thead>
          <tr>
            <th>#</th>
            <th>{t("partner")}</th>
            <th>{t("product")}</th>
            <th>{t("channel")}</th>
            <th>{t("strategies")}</th>
            <th>{t("champion")}</th>
            <th>{t("challengers")}</th>
            <th>{t("shadows")}</th>
            <th>{t("overrides")}</th>
            <th>{t("status")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(deployments.data || []).map((d) => (
            <tr key={d.deployment_id} className={d.active ? "" : "inactive"}>
              <td>{d.deployment_id}</td>
              <td>{partnerName(d.partner_id)}</td>
              <td>{d.product}</td>
              <td>{d.channel}</td>
              <td>{d.strategy_id}</td>
              <td>{d.champion}</td>
              <td>{d.challengers.map((c) => `${c.version} (${c.share}%)`).join(", ")}</td>
              <td>{d.shadows.join(", ")}</td>
              <td>{d.parameters ? JSON.stringify(d.parameters) : ""}</td>
              <td>{d.active ? t("active") : t("history")}</td>
              <td className="actions">
                {approver && <button onClick={() => use(d)}>{t("edit")}</button>}
                {approver && d.active && (
                  <button className="subtle" onClick={() => rollback(d)}>
                    {t("rollback")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {approver ? (
        <div className="card form" data-testid="deploy-form">
          <h3>{t("deploy")}</h3>
          <label>
            {t("partner")}
            <select data-testid="dep-partner" value={form.partner_id} onChange={(e) => setForm({ ...form, partner_id: e.target.value })}>
              <option value="" />
              {(partners.data || []).map((p) => (
                <option key={p.partner_id} value={p.partner_id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("product")} <input data-testid="dep-product" value={form.product} onChange={(e) => setForm({ ...form, product: e.target.value })} />
          </label>
          <label>
            {t("channel")} <input value={form.channel} onChange={(e) => setForm({ ...form, channel: e.target.value })} />
          </label>
          <label>
            {t("strategies")}
            <select data-testid="dep-strategy" value={form.strategy_id} onChange={(e) => setForm({ ...form, strategy_id: e.target.value, champion: "" })}>
              <option value="" />
              {(strategies.data || []).map((s) => (
                <option key={s.strategy_id}>{s.strategy_id}</option>
              ))}
            </select>
          </label>
          <label>
            {t("champion")}
            <select data-testid="dep-champion" value={form.champion} onChange={(e) => setForm({ ...form, champion: e.target.value })}>
              <option value="" />
              {published.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
          <fieldset>
            <legend>{t("challengers")}</legend>
            {challengers.map((c, i) => (
              <div key={i}>
                <select
                  data-testid={`dep-challenger-${i}`}
                  value={c.version}
                  onChange={(e) => setChallengers(challengers.map((x, k) => (k === i ? { ...x, version: e.target.value } : x)))}
                >
                  <option value="" />
                  {published.map((v) => (
                    <option key={v}>{v}</option>
                  ))}
                </select>{" "}
                {t("shares")}{" "}
                <input
                  data-testid={`dep-share-${i}`}
                  type="number"
                  value={c.share}
                  onChange={(e) => setChallengers(challengers.map((x, k) => (k === i ? { ...x, share: Number(e.target.value) } : x)))}
                />
                <button onClick={() => setChallengers(challengers.filter((_, k) => k !== i))}>✕</button>
              </div>
            ))}
            <button data-testid="dep-add-challenger" onClick={() => setChallengers([...challengers, { version: "", share: 10 }])}>
              + {t("addChallenger")}
            </button>
          </fieldset>
          <label>
            {t("shadows")}
            <select multiple value={shadows} onChange={(e) => setShadows([...e.target.selectedOptions].map((o) => o.value))}>
              {published.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
          <label>
            {t("overrides")} <input placeholder="cutoff=610, maxDti=0.55" value={overrides} onChange={(e) => setOverrides(e.target.value)} data-testid="dep-overrides" />
          </label>
          <button className="primary" data-testid="dep-submit" onClick={deploy}>
            {t("doDeploy")}
          </button>
        </div>
      ) : (
        <p className="hint">{t("notAllowed")}</p>
      )}
    </section>
  );
}
