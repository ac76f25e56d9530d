// Partners: create (the key is shown once), rotate or revoke keys, and edit a field mapping
// with a live dry-run on a pasted payload.
import { useEffect, useState } from "react";
import { can, type User } from "../App";
import { ApiError, get, post, put } from "../lib/api";
import { useGet } from "../lib/hooks";
import { useI18n } from "../lib/i18n";

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Partner {
  partner_id: string;
  name: string;
  status: string;
  keys: { prefix: string; status: string }[];
}

export function Partners({ user }: { user: User }) {
  const { t } = useI18n();
  const partners = useGet<Partner[]>("/partners");
  const [name, setName] = useState("");
  const [key, setKey] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [selected, setSelected] = useState<string>("");
  const [product, setProduct] = useState("cash_loan");
  const [mapping, setMapping] = useState('{\n  "fields": {}\n}');
  const [payload, setPayload] = useState('{\n  "applicant": {"age": 30}\n}');
  const [dry, setDry] = useState<any>(null);
  const admin = can(user, "admin");
  const run = async (f: () => Promise<any>) => {
    try {
      await f();
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  };
  useEffect(() => {
    if (!selected || !product) return;
    get<any>(`/partners/${encodeURIComponent(selected)}/mappings/${encodeURIComponent(product)}`)
      .then((m) => setMapping(JSON.stringify(m.document && Object.keys(m.document).length ? m.document : { fields: {} }, null, 2)))
      .catch(() => undefined);
  }, [selected, product]);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      let doc, body;
      try {
        doc = JSON.parse(mapping);
        body = JSON.parse(payload);
      } catch (e) {
        setDry({ error: String(e) });
        return;
      }
      post<any>("/mappings/dry-run", { document: doc, payload: body })
        .then(setDry)
        .catch((e) => setDry({ error: e instanceof ApiError ? e.message : String(e) }));
    }, 300);
    return () => window.clearTimeout(timer);
  }, [mapping, payload]);
  return (
    <section>
      <h2>{t("partners")}</h2>
      {notice && <p className="notice">{notice}</p>}
      {key && (
        <p className="notice key" data-testid="new-key">
          {t("keyShownOnce")} <code>{key}</code>
        </p>
      )}
      {admin && (
        <div className="toolbar">
          <input data-testid="partner-name" placeholder={t("name")} value={name} onChange={(e) => setName(e.target.value)} />
          <button
            data-testid="partner-create"
            onClick={() =>
              run(async () => {
                const out = await post<any>("/partners", { name });
                setKey(out.api_key);
                partners.reload();
              })
            }
          >
            {t("createPartner")}
          </button>
        </div>
      )}
      <table className="list">
        <thead>
          <tr>
            <th>{t("name")}</th>
            <th>id</th>
            <th>{t("status")}</th>
            <th>{t("keys")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(partners.data || []).map((p) => (
            <tr key={p.partner_id}>
              <td>{p.name}</td>
              <td>
                <code>{p.partner_id}</code>
              </td>
              <td>{p.status}</td>
              <td>{p.keys.map((k) => `${k.prefix}… (${k.status})`).join(", ")}</td>
              <td className="actions">
                <button onClick={() => setSelected(p.partner_id)}>{t("mapping")}</button>
                {admin && (
                  <>
                    <button
                      onClick={() =>
                        run(async () => {
                          const out = await post<any>(`/partners/${p.partner_id}/rotate-key`, { keep_old: false });
                          setKey(out.api_key);
                          partners.reload();
                        })
                      }
                    >
                      {t("rotateKey")}
                    </button>
                    <button
                      className="subtle"
                      onClick={() =>
                        run(async () => {
                          await post(`/partners/${p.partner_id}/revoke-keys`, {});
                          partners.reload();
                        })
                      }
                    >
                      {t("revokeKeys")}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && (
        <div className="card" data-testid="mapping-editor">
          <h3>
            {t("mapping")}: {partners.data?.find((p) => p.partner_id === selected)?.name}{" "}
            <input value={product} onChange={(e) => setProduct(e.target.value)} />
          </h3>
          <div className="row">
            <label className="half">
              {t("mapping")} (JSON)
              <textarea className="json" rows={16} value={mapping} onChange={(e) => setMapping(e.target.value)} data-testid="mapping-text" />
            </label>
            <label className="half">
              {t("payload")}
              <textarea className="json" rows={16} value={payload} onChange={(e) => setPayload(e.target.value)} data-testid="payload-text" />
            </label>
          </div>
          <h4>{t("dryRun")}</h4>
          {dry?.error ? (
            <p className="error">{dry.error}</p>
          ) : (
            <div className="row" data-testid="dry-run">
              <pre className="half source">{JSON.stringify(dry?.application ?? {}, null, 2)}</pre>
              <div className="half">
                <b>{t("problems")}</b>
                <ul>
                  {(dry?.problems || []).map((p: any, i: number) => (
                    <li key={i}>
                      {p.field}: {p.problem}
                    </li>
                  ))}
                </ul>
              </div>
            </div>
          )}
          {admin && (
            <button
              className="primary"
              onClick={() =>
                run(async () => {
                  const out = await put<any>(`/partners/${selected}/mappings/${product}`, { document: JSON.parse(mapping) });
                  setNotice(`${t("saved")}: v${out.version}`);
                })
              }
            >
              {t("save")}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
