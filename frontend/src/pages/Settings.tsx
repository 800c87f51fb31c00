// Admin settings: the tenant's LLM (the key is write-only), e-mail, and webhooks (the
// secret shown once, the delivery log, retrying a failed delivery).
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { ApiError, api, unwrap, type Schemas } from "../api/client";

type Webhook = Schemas["WebhookOut"];
type Delivery = Schemas["WebhookDeliveryOut"];

function errorText(caught: unknown) {
  return caught instanceof ApiError ? `${caught.message} (${caught.code})` : String(caught);
}

function Status({ error, saved }: { error: string | null; saved: boolean }) {
  if (error) return <p role="alert" className="error">{error}</p>;
  return saved ? <p role="status" className="muted">Saved.</p> : null;
}

function LlmSettings() {
  const [settings, setSettings] = useState<Schemas["LlmSettingsOut"] | null>(null);
  const [form, setForm] = useState({ base_url: "", model: "", api_key: "", budget: "" });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/v1/settings/llm").then((result) => {
      const found = unwrap(result);
      setSettings(found);
      setForm({ base_url: found.base_url ?? "", model: found.model ?? "", api_key: "", budget: found.monthly_token_budget?.toString() ?? "" });
    });
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      const body: Schemas["LlmSettingsIn"] = {
        base_url: form.base_url || undefined,
        model: form.model || undefined,
        monthly_token_budget: form.budget ? Number(form.budget) : undefined,
      };
      if (form.api_key) body.api_key = form.api_key;
      setSettings(unwrap(await api.PUT("/v1/settings/llm", { body })));
      setForm((current) => ({ ...current, api_key: "" }));
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <form className="card" onSubmit={save} aria-labelledby="llm-title">
      <h2 id="llm-title">LLM</h2>
      <p className="muted">
        In effect: {settings?.source ?? "…"} {settings?.effective_model ? `· ${settings.effective_model}` : ""}
      </p>
      <label>
        Endpoint (OpenAI-compatible)
        <input value={form.base_url} placeholder="https://api.openai.com/v1" onChange={(e) => setForm({ ...form, base_url: e.target.value })} />
      </label>
      <label>
        Model
        <input value={form.model} onChange={(e) => setForm({ ...form, model: e.target.value })} />
      </label>
      <label>
        API key {settings?.api_key_set ? "(set; leave empty to keep it)" : ""}
        <input type="password" autoComplete="off" value={form.api_key} onChange={(e) => setForm({ ...form, api_key: e.target.value })} />
      </label>
      <label>
        Monthly token budget
        <input inputMode="numeric" value={form.budget} onChange={(e) => setForm({ ...form, budget: e.target.value })} />
      </label>
      <Status error={error} saved={saved} />
      <button type="submit" className="primary">Save LLM settings</button>
    </form>
  );
}

function EmailSettings() {
  const [form, setForm] = useState({ addresses: "", from_name: "", smtp_url: "" });
  const [settings, setSettings] = useState<Schemas["EmailSettingsOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/v1/settings/email").then((result) => {
      const found = unwrap(result);
      setSettings(found);
      setForm({ addresses: found.addresses.join(", "), from_name: found.from_name ?? "", smtp_url: "" });
    });
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      const body: Schemas["EmailSettingsIn"] = {
        addresses: form.addresses.split(",").map((a) => a.trim()).filter(Boolean),
        from_name: form.from_name || undefined,
      };
      if (form.smtp_url) body.smtp_url = form.smtp_url;
      setSettings(unwrap(await api.PUT("/v1/settings/email", { body })));
      setForm((current) => ({ ...current, smtp_url: "" }));
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <form className="card" onSubmit={save} aria-labelledby="email-title">
      <h2 id="email-title">E-mail</h2>
      <p className="muted">{settings?.sending_ready ? "Replies can be sent." : "Replies cannot be sent yet: set an address and an SMTP server."}</p>
      <label>
        Support addresses (comma-separated; the first is the From)
        <input value={form.addresses} onChange={(e) => setForm({ ...form, addresses: e.target.value })} />
      </label>
      <label>
        From name
        <input value={form.from_name} onChange={(e) => setForm({ ...form, from_name: e.target.value })} />
      </label>
      <label>
        SMTP URL {settings?.smtp_url_set ? "(set; leave empty to keep it)" : "(empty: the service's)"}
        <input type="password" autoComplete="off" placeholder="smtps://user:password@mail.example.com:465" value={form.smtp_url} onChange={(e) => setForm({ ...form, smtp_url: e.target.value })} />
      </label>
      <Status error={error} saved={saved} />
      <button type="submit" className="primary">Save e-mail settings</button>
    </form>
  );
}

function Webhooks() {
  const [hooks, setHooks] = useState<Webhook[]>([]);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("*");
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [log, setLog] = useState<Delivery[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => setHooks(unwrap(await api.GET("/v1/webhooks", { params: { query: { limit: 100 } } })).data), []);
  const loadLog = useCallback(async (id: string) => {
    setLog(unwrap(await api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id }, query: { limit: 50 } } })).data);
  }, []);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    if (open) void loadLog(open);
  }, [open, loadLog]);

  async function create(event: FormEvent) {
    event.preventDefault();
    try {
      const created = unwrap(
        await api.POST("/v1/webhooks", { body: { url, events: events.split(",").map((e) => e.trim()).filter(Boolean) } }),
      );
      setSecret(created.secret);
      setUrl("");
      setError(null);
      await load();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function retry(endpoint: string, delivery: string) {
    try {
      unwrap(await api.POST("/v1/webhooks/{id}/deliveries/{delivery_id}/retry", { params: { path: { id: endpoint, delivery_id: delivery } } }));
      await loadLog(endpoint);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <section className="card" aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <form onSubmit={create} className="inline">
        <input aria-label="Endpoint URL" placeholder="https://example.com/hooks/copilot" value={url} onChange={(e) => setUrl(e.target.value)} required />
        <input aria-label="Events" value={events} onChange={(e) => setEvents(e.target.value)} />
        <button type="submit">Add endpoint</button>
      </form>
      {secret && (
        <p role="status" className="notice">
          Signing secret (shown once): <code>{secret}</code>
        </p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      <ul className="hooks">
        {hooks.map((hook) => (
          <li key={hook.id}>
            <button type="button" className="link" onClick={() => setOpen(open === hook.id ? null : hook.id)}>
              {hook.url}
            </button>{" "}
            <span className={`badge ${hook.enabled ? "doc-ready" : "doc-failed"}`}>{hook.enabled ? "enabled" : "disabled"}</span>{" "}
            <span className="muted">{hook.events.join(", ")}</span>
            {hook.disabled_reason && <div className="error">{hook.disabled_reason}</div>}
            {open === hook.id && (
              <table className="deliveries">
                <tbody>
                  {log.map((d) => (
                    <tr key={d.id}>
                      <td>{d.event_type}</td>
                      <td>
                        <span className={`badge delivery-${d.status === "succeeded" ? "sent" : d.status}`}>{d.status}</span>
                      </td>
                      <td>{d.attempts} attempt(s)</td>
                      <td>{d.last_status_code ?? d.last_error ?? ""}</td>
                      <td>
                        {d.status === "failed" && (
                          <button type="button" onClick={() => void retry(hook.id, d.id)}>
                            Retry
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Settings() {
  return (
    <div className="settings">
      <LlmSettings />
      <EmailSettings />
      <Webhooks />
    </div>
  );
}
