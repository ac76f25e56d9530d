import { useState } from "react";
import type { User } from "../App";
import { ApiError, post } from "../lib/api";
import { useI18n, type Lang } from "../lib/i18n";

export function Login({ onSignedIn }: { onSignedIn: (user: User, csrf: string) => void }) {
  const { t, lang, setLang } = useI18n();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      const out = await post<{ user: User; csrf: string }>("/login", { name, password });
      onSignedIn(out.user, out.csrf);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="login" onSubmit={submit}>
      <h1>{t("appTitle")}</h1>
      <label>
        {t("userName")}
        <input data-testid="login-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="username" />
      </label>
      <label>
        {t("password")}
        <input
          data-testid="login-password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
        />
      </label>
      {error && <p className="error" data-testid="login-error">{error}</p>}
      <button type="submit" data-testid="login-submit">
        {t("signIn")}
      </button>
      <select aria-label={t("language")} data-testid="lang" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
        <option value="zh">中文</option>
        <option value="en">English</option>
      </select>
    </form>
  );
}
