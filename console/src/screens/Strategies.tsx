import { useState } from "react";
import { can, type User } from "../App";
import { ApiError, post } from "../lib/api";
import { useGet } from "../lib/hooks";
import { useI18n, type Key } from "../lib/i18n";
import { href } from "../lib/route";
import type { StrategySummary } from "../lib/types";

export function Strategies({ user }: { user: User }) {
  const { t } = useI18n();
  const { data, error, reload } = useGet<StrategySummary[]>("/strategies");
  const [message, setMessage] = useState<string | null>(null);
  const act = async (id: string, version: string, action: "publish" | "retire") => {
    try {
      await post(`/strategies/${encodeURIComponent(id)}/${encodeURIComponent(version)}/${action}`);
      setMessage(`${id} ${version}: ${action} ✓`);
      reload();
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : String(e));
    }
  };
  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p>{t("loading")}</p>;
  return (
    <section>
      <h2>{t("strategies")}</h2>
      {message && <p className="notice" data-testid="notice">{message}</p>}
      {data.map((s) => {
        const published = s.versions.find((v) => v.status === "published");
        return (
          <div key={s.strategy_id} className="card" data-testid={`strategy-${s.strategy_id}`}>
            <h3>
              {s.strategy_id} <small>{s.title}</small>
            </h3>
            <table className="list">
              <thead>
                <tr>
                  <th>{t("version")}</th>
                  <th>{t("status")}</th>
                  <th>{t("createdBy")}</th>
                  <th>{t("approvedBy")}</th>
                  <th>{t("created")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {s.versions.map((v) => (
                  <tr key={v.version} data-testid={`version-${s.strategy_id}-${v.version}`}>
                    <td>{v.version}</td>
                    <td>
                      <span className={`status ${v.status}`}>{t(`draftStatus_${v.status}` as Key)}</span>
                    </td>
                    <td>{v.created_by || "—"}</td>
                    <td>{v.approved_by || "—"}</td>
                    <td>{v.created_at?.slice(0, 16).replace("T", " ")}</td>
                    <td className="actions">
                      <a href={href("strategies", s.strategy_id, v.version)}>{t("open")}</a>
                      {can(user, "draft") && (
                        <a href={href("strategies", s.strategy_id, v.version, "edit")} data-testid={`edit-${s.strategy_id}-${v.version}`}>
                          {t("edit")}
                        </a>
                      )}
                      {published && published.version !== v.version && (
                        <a href={`#/diff/${encodeURIComponent(s.strategy_id)}?old=${encodeURIComponent(published.version)}&new=${encodeURIComponent(v.version)}`} data-testid={`diff-${s.strategy_id}-${v.version}`}>
                          {t("diff")}
                        </a>
                      )}
                      {can(user, "approve") && v.status === "validated" && (
                        <button data-testid={`publish-${s.strategy_id}-${v.version}`} onClick={() => act(s.strategy_id, v.version, "publish")}>
                          {t("publish")}
                        </button>
                      )}
                      {can(user, "approve") && v.status !== "retired" && v.status !== "draft" && (
                        <button className="subtle" onClick={() => act(s.strategy_id, v.version, "retire")}>
                          {t("retire")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}
