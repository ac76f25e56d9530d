import { useState } from "react";
import { ApiError, post } from "../lib/api";
import { useGet } from "../lib/hooks";
import { useI18n, type Key } from "../lib/i18n";

interface ConsoleUser {
  name: string;
  role: string;
  status: string;
  failed_logins: number;
  locked_until: string | null;
}

const ROLES = ["viewer", "analyst", "approver", "admin"];

export function Users() {
  const { t } = useI18n();
  const users = useGet<ConsoleUser[]>("/users");
  const [form, setForm] = useState({ name: "", role: "analyst", password: "" });
  const [notice, setNotice] = useState<string | null>(null);
  const run = async (f: () => Promise<unknown>) => {
    try {
      await f();
      users.reload();
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  };
  if (users.error) return <p className="error">{users.error.message}</p>;
  return (
    <section>
      <h2>{t("users")}</h2>
      {notice && <p className="notice">{notice}</p>}
      <div className="toolbar">
        <input data-testid="user-name" placeholder={t("userName")} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <select data-testid="user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role_${r}` as Key)}
            </option>
          ))}
        </select>
        <input data-testid="user-password" type="password" placeholder={t("password")} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        <button data-testid="user-create" onClick={() => run(() => post("/users", form).then(() => setForm({ ...form, name: "", password: "" })))}>
          {t("createUser")}
        </button>
      </div>
      <table className="list" data-testid="users">
        <thead>
          <tr>
            <th>{t("userName")}</th>
            <th>{t("role")}</th>
            <th>{t("status")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(users.data || []).map((u) => (
            <tr key={u.name}>
              <td>{u.name}</td>
              <td>
                <select value={u.role} onChange={(e) => run(() => post(`/users/${encodeURIComponent(u.name)}/role`, { role: e.target.value }))}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {t(`role_${r}` as Key)}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                {u.status}
                {u.locked_until ? ` · 🔒 ${u.locked_until.slice(0, 16)}` : ""}
              </td>
              <td className="actions">
                <button onClick={() => run(() => post(`/users/${encodeURIComponent(u.name)}/unlock`))}>{t("unlock")}</button>
                <button className="subtle" onClick={() => run(() => post(`/users/${encodeURIComponent(u.name)}/disable`))}>
                  {t("disable")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
