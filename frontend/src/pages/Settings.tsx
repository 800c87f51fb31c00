// Admin settings: the tenant's LLM (the key is write-only) and model profiles, how drafts sound, e-mail, satisfaction surveys, business hours and SLA policies, webhooks (the secret
// shown once, the delivery log, retrying a failed delivery), people and API keys.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n, type Key } from "../i18n";
import { ApiKeys, People } from "./Access";
import { ModelProfiles } from "./Models";
import { SurveySettings } from "../components/Satisfaction";
import { BusinessHours, SlaPolicies } from "../components/ServiceLevels";

type Webhook = Schemas["WebhookOut"];
type Delivery = Schemas["WebhookDeliveryOut"];


function Status({ error, saved }: { error: string | null; saved: boolean }) {
  const { t } = useI18n();
  if (error) return <p role="alert" className="error">{error}</p>;
  return saved ? <p role="status" className="muted">{t("settings.saved")}</p> : null;
}

function LlmSettings() {
  const { t } = useI18n();
  const [settings, setSettings] = useState<Schemas["LlmSettingsOut"] | null>(null);
  const [form, setForm] = useState({ base_url: "", model: "", api_key: "", budget: "", cost_budget: "", price_in: "", price_out: "" });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/v1/settings/llm").then((result) => {
      const found = unwrap(result);
      setSettings(found);
      setForm({
        base_url: found.base_url ?? "",
        model: found.model ?? "",
        api_key: "",
        budget: found.monthly_token_budget?.toString() ?? "",
        cost_budget: found.monthly_cost_budget?.toString() ?? "",
        price_in: found.price_per_million_input_tokens?.toString() ?? "",
        price_out: found.price_per_million_output_tokens?.toString() ?? "",
      });
    }).catch((caught) => setError(errorText(caught)));
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      // The settings are replaced as a whole: limits set through the API are kept.
      const body: Schemas["LlmSettingsIn"] = {
        base_url: form.base_url || undefined,
        model: form.model || undefined,
        temperature: settings?.temperature,
        max_tokens: settings?.max_tokens,
        timeout_seconds: settings?.timeout_seconds,
        monthly_token_budget: form.budget ? Number(form.budget) : undefined,
        monthly_cost_budget: form.cost_budget ? Number(form.cost_budget) : undefined,
        price_per_million_input_tokens: form.price_in ? Number(form.price_in) : undefined,
        price_per_million_output_tokens: form.price_out ? Number(form.price_out) : undefined,
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
        {t("settings.llm.inEffect")} {settings ? t(`settings.llm.source.${settings.source}` as Key) : "…"}{" "}
        {settings?.effective_model && <span translate="no">· {settings.effective_model}</span>}
      </p>
      <label>
        {t("settings.llm.endpoint")}
        <input value={form.base_url} placeholder="https://api.openai.com/v1" translate="no" onChange={(e) => setForm({ ...form, base_url: e.target.value })} />
      </label>
      <label>
        {t("settings.llm.model")}
        <input value={form.model} onChange={(e) => setForm({ ...form, model: e.target.value })} />
      </label>
      <label>
        {t("settings.llm.key")} {settings?.api_key_set ? t("settings.keep") : ""}
        <input type="password" autoComplete="off" value={form.api_key} onChange={(e) => setForm({ ...form, api_key: e.target.value })} />
      </label>
      <label>
        {t("settings.llm.budget")}
        <input inputMode="numeric" value={form.budget} onChange={(e) => setForm({ ...form, budget: e.target.value })} />
      </label>
      <label>
        {t("settings.llm.costBudget")}
        <input inputMode="decimal" value={form.cost_budget} onChange={(e) => setForm({ ...form, cost_budget: e.target.value })} />
      </label>
      <label>
        {t("models.priceIn")}
        <input inputMode="decimal" value={form.price_in} onChange={(e) => setForm({ ...form, price_in: e.target.value })} />
      </label>
      <label>
        {t("models.priceOut")}
        <input inputMode="decimal" value={form.price_out} onChange={(e) => setForm({ ...form, price_out: e.target.value })} />
      </label>
      <Status error={error} saved={saved} />
      <button type="submit" className="primary">{t("settings.llm.save")}</button>
    </form>
  );
}

/** The languages offered for drafts whose customer's language cannot be told (a value
 * set through the API outside this list is shown too). */
const DRAFT_LANGUAGES = ["zh", "es", "fr", "de", "pt", "it", "nl", "ja", "ko", "ru"];

/** English (empty) or one of [`DRAFT_LANGUAGES`]; a value set through the API outside
 * the list is offered too. */
function LanguageSelect({ value, names, onChange }: { value: string; names: Intl.DisplayNames; onChange: (code: string) => void }) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">{names.of("en")}</option>
      {[...DRAFT_LANGUAGES, ...(DRAFT_LANGUAGES.includes(value) ? [] : [value])]
        .filter((code) => code !== "")
        .map((code) => (
          <option key={code} value={code}>
            {names.of(code)}
          </option>
        ))}
    </select>
  );
}

/** How replies sound (persona, tone, signature), whether drafts start by themselves, and
 * whether personal data is hidden from the LLM. */
function DraftingSettings() {
  const { t, language } = useI18n();
  const [form, setForm] = useState({
    persona: "",
    tone: "",
    signature: "",
    redact_pii: false,
    auto_draft: true,
    auto_translate: false,
    default_language: "",
    agent_language: "",
    summary_min_messages: "3",
  });
  const names = new Intl.DisplayNames([language === "zh" ? "zh-CN" : "en"], { type: "language" });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/v1/settings/drafting").then((result) => {
      const found = unwrap(result);
      setForm({
        persona: found.persona ?? "",
        tone: found.tone ?? "",
        signature: found.signature ?? "",
        redact_pii: found.redact_pii,
        auto_draft: found.auto_draft,
        auto_translate: found.auto_translate,
        default_language: found.default_language ?? "",
        agent_language: found.agent_language ?? "",
        summary_min_messages: found.summary_min_messages.toString(),
      });
    }).catch((caught) => setError(errorText(caught)));
  }, []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      unwrap(
        await api.PUT("/v1/settings/drafting", {
          body: {
            persona: form.persona.trim() || undefined,
            tone: form.tone.trim() || undefined,
            signature: form.signature.trim() || undefined,
            redact_pii: form.redact_pii,
            auto_draft: form.auto_draft,
            auto_translate: form.auto_translate,
            default_language: form.default_language || undefined,
            agent_language: form.agent_language || undefined,
            summary_min_messages: form.summary_min_messages ? Number(form.summary_min_messages) : undefined,
          },
        }),
      );
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <form className="card" onSubmit={save} aria-labelledby="drafting-title">
      <h2 id="drafting-title">{t("settings.drafting.title")}</h2>
      <label>
        {t("settings.drafting.persona")}
        <textarea rows={2} value={form.persona} onChange={(e) => setForm({ ...form, persona: e.target.value })} />
      </label>
      <label>
        {t("settings.drafting.tone")}
        <input value={form.tone} onChange={(e) => setForm({ ...form, tone: e.target.value })} />
      </label>
      <label>
        {t("settings.drafting.signature")}
        <textarea rows={3} value={form.signature} onChange={(e) => setForm({ ...form, signature: e.target.value })} />
      </label>
      <label>
        {t("settings.drafting.defaultLanguage")}
        <LanguageSelect value={form.default_language} names={names} onChange={(code) => setForm({ ...form, default_language: code })} />
      </label>
      <label>
        {t("settings.drafting.agentLanguage")}
        <LanguageSelect value={form.agent_language} names={names} onChange={(code) => setForm({ ...form, agent_language: code })} />
      </label>
      <label>
        {t("settings.drafting.summaryFrom")}
        <input
          inputMode="numeric"
          value={form.summary_min_messages}
          onChange={(e) => setForm({ ...form, summary_min_messages: e.target.value })}
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={form.auto_draft} onChange={(e) => setForm({ ...form, auto_draft: e.target.checked })} />
        {t("settings.drafting.autoDraft")}
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={form.auto_translate}
          onChange={(e) => setForm({ ...form, auto_translate: e.target.checked })}
        />
        {t("settings.drafting.autoTranslate")}
      </label>
      <label className="check">
        <input type="checkbox" checked={form.redact_pii} onChange={(e) => setForm({ ...form, redact_pii: e.target.checked })} />
        {t("settings.drafting.redactPii")}
      </label>
      <Status error={error} saved={saved} />
      <button type="submit" className="primary">{t("settings.drafting.save")}</button>
    </form>
  );
}

function EmailSettings() {
  const { t } = useI18n();
  const [form, setForm] = useState({ addresses: "", from_name: "", smtp_url: "" });
  const [settings, setSettings] = useState<Schemas["EmailSettingsOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/v1/settings/email").then((result) => {
      const found = unwrap(result);
      setSettings(found);
      setForm({ addresses: found.addresses.join(", "), from_name: found.from_name ?? "", smtp_url: "" });
    }).catch((caught) => setError(errorText(caught)));
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
      <h2 id="email-title">{t("settings.email.title")}</h2>
      <p className="muted">{settings?.sending_ready ? t("settings.email.ready") : t("settings.email.notReady")}</p>
      <label>
        {t("settings.email.addresses")}
        <input value={form.addresses} onChange={(e) => setForm({ ...form, addresses: e.target.value })} />
      </label>
      <label>
        {t("settings.email.fromName")}
        <input value={form.from_name} onChange={(e) => setForm({ ...form, from_name: e.target.value })} />
      </label>
      <label>
        {t("settings.email.smtp")} {settings?.smtp_url_set ? t("settings.keep") : t("settings.email.serviceSmtp")}
        <input type="password" autoComplete="off" placeholder="smtps://user:password@mail.example.com:465" translate="no" value={form.smtp_url} onChange={(e) => setForm({ ...form, smtp_url: e.target.value })} />
      </label>
      <Status error={error} saved={saved} />
      <button type="submit" className="primary">{t("settings.email.save")}</button>
      {settings && settings.service_smtp && !settings.smtp_url_set && settings.addresses[0] && (
        <SenderVerification
          address={settings.addresses[0]}
          verified={settings.verified_addresses.includes(settings.addresses[0])}
          onVerified={setSettings}
        />
      )}
      <TestEmail />
      {settings && <InboundAddress prefix={settings.inbound_token_prefix} />}
    </form>
  );
}

/** The secret address mail providers post received mail to, and its replacement. */
function InboundAddress({ prefix }: { prefix?: string | null }) {
  const { t } = useI18n();
  const [shown, setShown] = useState<string | null>(null);
  const [current, setCurrent] = useState(prefix ?? null);
  const [error, setError] = useState<string | null>(null);
  const rotate = async () => {
    if (!window.confirm(t("settings.inbound.rotateConfirm"))) return;
    try {
      const made = unwrap(await api.POST("/v1/settings/email/inbound-token"));
      setShown(`${window.location.origin}${made.inbound_path}`);
      setCurrent(unwrap(await api.GET("/v1/settings/email")).inbound_token_prefix ?? null);
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  return (
    <fieldset className="inbound">
      <legend>{t("settings.inbound.title")}</legend>
      <p className="muted small">{t("settings.inbound.help")}</p>
      <p>
        {current ? (
          <>
            {t("settings.inbound.current")} <code>/v1/inbound/email/{current}…</code>
          </>
        ) : (
          t("settings.inbound.none")
        )}
      </p>
      {shown && (
        <p role="status" className="notice">
          {t("settings.inbound.shown")} <code>{shown}</code>
        </p>
      )}
      <Status error={error} saved={false} />
      <button type="button" onClick={() => void rotate()}>
        {t("settings.inbound.rotate")}
      </button>
    </fieldset>
  );
}

/** Sends a test e-mail the way replies go out and shows what the server said. */
function TestEmail() {
  const { t } = useI18n();
  const [to, setTo] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Schemas["EmailTestOut"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function send() {
    setBusy(true);
    setResult(null);
    setError(null);
    try {
      setResult(unwrap(await api.POST("/v1/settings/email/test", { body: { to } })));
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <fieldset className="test-email">
      <legend>{t("settings.email.test")}</legend>
      <label>
        {t("settings.email.testTo")}
        <input type="email" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <button type="button" disabled={busy || !to.trim()} onClick={() => void send()}>
        {busy ? t("settings.email.testing") : t("settings.email.testSend")}
      </button>
      {result?.sent && (
        <p role="status" className="notice">
          {t("settings.email.testSent")} {result.detail}
        </p>
      )}
      {result && !result.sent && (
        <p role="alert" className="error">
          {t("settings.email.testFailed")} {result.detail}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** The From address's verification, needed to send through the service's mail server. */
function SenderVerification(props: {
  address: string;
  verified: boolean;
  onVerified: (settings: Schemas["EmailSettingsOut"]) => void;
}) {
  const { t } = useI18n();
  const [code, setCode] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (props.verified) {
    return <p className="muted">{t("settings.email.verified")} {props.address}</p>;
  }
  async function send() {
    try {
      unwrap(await api.POST("/v1/settings/email/verifications", { body: { address: props.address } }));
      setSent(true);
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  async function confirm() {
    try {
      props.onVerified(
        unwrap(await api.POST("/v1/settings/email/verifications/confirm", { body: { address: props.address, code } })),
      );
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <fieldset>
      <legend>{t("settings.email.verify")} {props.address}</legend>
      <p className="muted">{t("settings.email.verifyWhy")}</p>
      <button type="button" onClick={() => void send()}>{sent ? t("settings.email.sendAgain") : t("settings.email.sendCode")}</button>
      <label>
        {t("settings.email.code")}
        <input value={code} autoComplete="one-time-code" placeholder="cpv_…" onChange={(e) => setCode(e.target.value)} />
      </label>
      <button type="button" disabled={!code.trim()} onClick={() => void confirm()}>{t("settings.email.confirm")}</button>
      {error && <p role="alert" className="error">{error}</p>}
    </fieldset>
  );
}

export function Webhooks() {
  const { t } = useI18n();
  const [hooks, setHooks] = useState<Webhook[]>([]);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("*");
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [log, setLog] = useState<Delivery[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => setHooks(unwrap(await api.GET("/v1/webhooks", { params: { query: { limit: 100 } } })).data), []);
  const loadLog = useCallback(async (id: string) => {
    setLog(unwrap(await api.GET("/v1/webhooks/{id}/deliveries", { params: { path: { id }, query: { limit: 50 } } })).data);
  }, []);
  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);
  useEffect(() => {
    if (open) loadLog(open).catch((caught) => setError(errorText(caught)));
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

  /** Runs an endpoint action, then shows `done` and reloads the list (and its log when open). */
  async function act(hook: Webhook, action: () => Promise<string | null>) {
    setError(null);
    setNotice(null);
    try {
      setNotice(await action());
      await load();
      if (open === hook.id) await loadLog(hook.id);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  const path = (hook: Webhook) => ({ params: { path: { id: hook.id } } });
  const sendTest = (hook: Webhook) =>
    act(hook, async () => {
      unwrap(await api.POST("/v1/webhooks/{id}/test", path(hook)));
      setOpen(hook.id);
      return t("settings.webhooks.testQueued");
    });
  const toggle = (hook: Webhook) =>
    act(hook, async () => {
      unwrap(await api.PATCH("/v1/webhooks/{id}", { ...path(hook), body: { enabled: !hook.enabled } }));
      return null;
    });
  const rotate = (hook: Webhook) =>
    act(hook, async () => {
      if (!window.confirm(`${t("settings.webhooks.rotateConfirm")} ${hook.url}`)) return null;
      setSecret(unwrap(await api.POST("/v1/webhooks/{id}/rotate-secret", path(hook))).secret);
      return null;
    });
  const replay = (hook: Webhook) =>
    act(hook, async () => {
      const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
      const replayed = unwrap(await api.POST("/v1/webhooks/{id}/replay", { ...path(hook), body: { since } }));
      setOpen(hook.id);
      return `${t("settings.webhooks.replayed")} ${replayed.queued}`;
    });
  const remove = (hook: Webhook) =>
    act(hook, async () => {
      if (!window.confirm(`${t("settings.webhooks.deleteConfirm")} ${hook.url}`)) return null;
      unwrap(await api.DELETE("/v1/webhooks/{id}", path(hook)));
      if (open === hook.id) setOpen(null);
      return null;
    });

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
      <h2 id="webhooks-title">{t("settings.webhooks.title")}</h2>
      <form onSubmit={create} className="inline">
        <input aria-label={t("settings.webhooks.url")} placeholder="https://example.com/hooks/copilot" translate="no" value={url} onChange={(e) => setUrl(e.target.value)} required />
        <input aria-label={t("settings.webhooks.events")} value={events} onChange={(e) => setEvents(e.target.value)} />
        <button type="submit">{t("settings.webhooks.add")}</button>
      </form>
      {secret && (
        <p role="status" className="notice">
          {t("settings.webhooks.secret")} <code>{secret}</code>
        </p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {notice && <p role="status" className="notice">{notice}</p>}
      <ul className="hooks">
        {hooks.map((hook) => (
          <li key={hook.id}>
            <button type="button" className="link" onClick={() => setOpen(open === hook.id ? null : hook.id)} translate="no">
              {hook.url}
            </button>{" "}
            <span className={`badge ${hook.enabled ? "doc-ready" : "doc-failed"}`}>{hook.enabled ? t("settings.webhooks.enabled") : t("settings.webhooks.disabled")}</span>{" "}
            <span className="muted" translate="no">
              {hook.events.join(", ")}
            </span>
            {hook.disabled_reason && <div className="error">{hook.disabled_reason}</div>}
            <div className="actions">
              <button type="button" className="link" onClick={() => void sendTest(hook)}>
                {t("settings.webhooks.test")}
              </button>
              <button type="button" className="link" onClick={() => void toggle(hook)}>
                {hook.enabled ? t("settings.webhooks.disable") : t("settings.webhooks.enable")}
              </button>
              <button type="button" className="link" onClick={() => void replay(hook)}>
                {t("settings.webhooks.replay")}
              </button>
              <button type="button" className="link" onClick={() => void rotate(hook)}>
                {t("settings.webhooks.rotate")}
              </button>
              <button type="button" className="link danger" onClick={() => void remove(hook)}>
                {t("settings.webhooks.delete")}
              </button>
            </div>
            {open === hook.id && (
              <table className="deliveries">
                <tbody>
                  {log.map((d) => (
                    <tr key={d.id}>
                      <td translate="no">{d.event_type}</td>
                      <td>
                        <span className={`badge delivery-${d.status === "succeeded" ? "sent" : d.status}`}>{d.status}</span>
                      </td>
                      <td>
                        {d.attempts} {t("settings.webhooks.attempts")}
                      </td>
                      <td>{d.last_status_code ?? d.last_error ?? ""}</td>
                      <td>
                        {d.status === "failed" && (
                          <button type="button" onClick={() => void retry(hook.id, d.id)}>
                            {t("settings.webhooks.retry")}
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
      <ModelProfiles />
      <DraftingSettings />
      <EmailSettings />
      <SurveySettings />
      <BusinessHours />
      <SlaPolicies />
      <Webhooks />
      <People />
      <ApiKeys />
    </div>
  );
}
