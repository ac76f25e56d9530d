import { useEffect, useState } from "react";
import { ApiError, get, post, setCsrf } from "./lib/api";
import { I18nProvider, useI18n, type Key, type Lang } from "./lib/i18n";
import { href, useRoute } from "./lib/route";
import { Login } from "./screens/Login";
import { Strategies } from "./screens/Strategies";
import { StrategyView } from "./screens/StrategyView";
import { DiffView } from "./screens/DiffView";
import { Deploy } from "./screens/Deploy";
import { Explorer } from "./screens/Explorer";
import { DecisionView } from "./screens/DecisionView";
import { Dashboards } from "./screens/Dashboards";
import { Partners } from "./screens/Partners";
import { Identity } from "./screens/Identity";
import { Users } from "./screens/Users";

export interface User {
  name: string;
  role: string;
  permissions: string[];
}

export const can = (user: User, permission: string) => user.permissions.includes(permission);

const NAV: [string, Key, string?][] = [
  ["strategies", "strategies"],
  ["deploy", "deploy"],
  ["decisions", "explorer"],
  ["dashboards", "dashboards"],
  ["partners", "partners"],
  ["identity", "identity"],
  ["users", "users", "admin"],
];

function Shell({ user, onSignOut }: { user: User; onSignOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const route = useRoute();
  const [section, ...rest] = route.parts.length ? route.parts : ["strategies"];
  let screen;
  if (section === "strategies" && rest.length >= 2) screen = <StrategyView user={user} id={rest[0]} version={rest[1]} edit={rest[2] === "edit"} />;
  else if (section === "diff") screen = <DiffView id={rest[0]} old={route.params.get("old") || ""} next={route.params.get("new") || ""} />;
  else if (section === "deploy") screen = <Deploy user={user} />;
  else if (section === "decisions" && rest.length) screen = <DecisionView id={rest[0]} />;
  else if (section === "decisions") screen = <Explorer />;
  else if (section === "dashboards") screen = <Dashboards />;
  else if (section === "partners") screen = <Partners user={user} />;
  else if (section === "identity") screen = <Identity />;
  else if (section === "users") screen = <Users />;
  else screen = <Strategies user={user} />;
  return (
    <div className="shell">
      <header>
        <span className="brand">{t("appTitle")}</span>
        <nav>
          {NAV.filter(([, , p]) => !p || user.permissions.includes(p)).map(([path, key]) => (
            <a key={path} href={href(path)} className={section === path ? "current" : ""} data-testid={`nav-${path}`}>
              {t(key)}
            </a>
          ))}
        </nav>
        <span className="who">
          <select aria-label={t("language")} data-testid="lang" value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            <option value="zh">中文</option>
            <option value="en">English</option>
          </select>
          <span data-testid="whoami">
            {user.name} · {t(`role_${user.role}` as Key)}
          </span>
          <button onClick={onSignOut} data-testid="sign-out">
            {t("signOut")}
          </button>
        </span>
      </header>
      <main>{screen}</main>
    </div>
  );
}

export function App() {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem("ruleplus.lang") as Lang) || "zh");
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const setLang = (l: Lang) => {
    localStorage.setItem("ruleplus.lang", l);
    document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
    setLangState(l);
  };
  useEffect(() => {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    get<{ user: User; csrf: string }>("/session")
      .then((s) => {
        setCsrf(s.csrf);
        setUser(s.user);
      })
      .catch((e) => {
        if (!(e instanceof ApiError)) console.error(e);
        setUser(null);
      });
  }, []);
  const signOut = async () => {
    await post("/logout").catch(() => undefined);
    setCsrf(null);
    setUser(null);
  };
  return (
    <I18nProvider lang={lang} setLang={setLang}>
      {user === undefined ? null : user === null ? (
        <Login
          onSignedIn={(u, csrf) => {
            setCsrf(csrf);
            setUser(u);
          }}
        />
      ) : (
        <Shell user={user} onSignOut={signOut} />
      )}
    </I18nProvider>
  );
}
