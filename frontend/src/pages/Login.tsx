import { useState, type FormEvent } from "react";

import { api, errorText, unwrap } from "../api/client";
import { useI18n } from "../i18n";

export function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const { t, toggle } = useI18n();
  const [tenant, setTenant] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.POST("/v1/auth/login", { body: { tenant, email, password } }));
      onSignedIn();
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t("login.title")}</h1>
        <label>
          {t("login.tenant")}
          <input name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} required autoFocus />
        </label>
        <label>
          {t("login.email")}
          <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p role="alert" className="error">
            {t("login.failed")}: {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
        <button type="button" className="link" onClick={toggle} lang={t("language.switch") === "English" ? "en" : "zh"}>
          {t("language.switch")}
        </button>
      </form>
    </main>
  );
}
