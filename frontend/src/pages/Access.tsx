// Who can use the console and the API: people (add, change role, deactivate) and API keys
// (create with the key shown once, revoke). Admins only; the API refuses others.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { HeaderRow } from "../components/Fields";
import { useI18n, type Key } from "../i18n";

type Role = Schemas["Role"];


const PERSON_ROLES: Role[] = ["agent", "admin", "owner"];
const KEY_ROLES: Role[] = ["integration", "agent", "admin"];

export function People() {
  const { t } = useI18n();
  const [users, setUsers] = useState<Schemas["UserOut"][]>([]);
  const [form, setForm] = useState({ email: "", name: "", role: "agent" as Role, password: "" });
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setUsers(unwrap(await api.GET("/v1/users", { params: { query: { limit: 100 } } })).data);
  }, []);
  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);

  async function act(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  function add(event: FormEvent) {
    event.preventDefault();
    void act(async () => {
      unwrap(await api.POST("/v1/users", { body: { ...form, name: form.name || undefined } }));
      setForm({ email: "", name: "", role: "agent", password: "" });
    });
  }

  const update = (id: string, body: Schemas["UserPatch"]) =>
    act(async () => unwrap(await api.PATCH("/v1/users/{id}", { params: { path: { id } }, body })));

  return (
    <section className="card" aria-labelledby="people-title">
      <h2 id="people-title">{t("people.title")}</h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table>
        <HeaderRow columns={[t("people.name"), t("login.email"), t("people.role"), t("people.active")]} />
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td translate="no">{user.name ?? "—"}</td>
              <td translate="no">{user.email}</td>
              <td>
                <select
                  aria-label={`${t("people.role")}: ${user.email}`}
                  value={user.role}
                  onChange={(e) => void update(user.id, { role: e.target.value as Role })}
                >
                  {PERSON_ROLES.map((role) => (
                    <option key={role} value={role}>
                      {t(`role.${role}` as Key)}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <label>
                  <input type="checkbox" checked={user.active} onChange={(e) => void update(user.id, { active: e.target.checked })} />
                  <span className="visually-hidden">
                    {t("people.active")}: {user.email}
                  </span>
                </label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={add} className="inline">
        <label>
          {t("login.email")}
          <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        </label>
        <label>
          {t("people.name")}
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label>
          {t("people.role")}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            {PERSON_ROLES.map((role) => (
              <option key={role} value={role}>
                {t(`role.${role}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("login.password")}
          <input
            type="password"
            required
            minLength={10}
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </label>
        <button type="submit">{t("people.add")}</button>
      </form>
    </section>
  );
}

export function ApiKeys() {
  const { t } = useI18n();
  const [keys, setKeys] = useState<Schemas["ApiKeyOut"][]>([]);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("integration");
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setKeys(unwrap(await api.GET("/v1/api-keys", { params: { query: { limit: 100 } } })).data);
  }, []);
  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    try {
      setCreated(unwrap(await api.POST("/v1/api-keys", { body: { name, role } })).key);
      setName("");
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function revoke(id: string, name: string) {
    if (!window.confirm(`${t("keys.revokeConfirm")} ${name}`)) return;
    try {
      unwrap(await api.DELETE("/v1/api-keys/{id}", { params: { path: { id } } }));
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">{t("keys.title")}</h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {created && (
        <p role="status" className="notice">
          {t("keys.shownOnce")} <code>{created}</code>
        </p>
      )}
      <table>
        <HeaderRow
          columns={[t("people.name"), t("people.role"), t("keys.prefix"), t("keys.lastUsed")]}
          actions={t("knowledge.actions")}
        />
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} className={key.revoked_at ? "revoked" : undefined}>
              <td translate="no">{key.name}</td>
              <td>{t(`role.${key.role}` as Key)}</td>
              <td>
                <code>{key.prefix}…</code>
              </td>
              <td>{key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "—"}</td>
              <td>
                {key.revoked_at ? (
                  <span className="muted">{t("keys.revoked")}</span>
                ) : (
                  <button type="button" className="link danger" onClick={() => void revoke(key.id, key.name)}>
                    {t("keys.revoke")} <span translate="no">{key.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={(e) => void create(e)} className="inline">
        <label>
          {t("people.name")}
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          {t("people.role")}
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {KEY_ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t("keys.create")}</button>
      </form>
    </section>
  );
}
