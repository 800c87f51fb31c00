// Service levels in the settings: the tenant's business hours (each weekday's opening
// intervals in a time zone, holidays) and its SLA policies in order (the first whose
// conditions a ticket meets applies), each with its targets.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n, type Key, type Language } from "../i18n";

type Schedule = Schemas["ScheduleOut"];
type Policy = Schemas["PolicyOut"];
type Week = Schemas["WeekIn"];

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const KINDS = ["first_reply", "next_reply", "resolution"] as const;
const PRIORITIES = ["urgent", "high", "normal", "low"] as const;
const CHANNELS = ["email", "web", "api", "chat"] as const;

/** A day's intervals as typed: `09:00-12:00, 13:00-17:30`; empty is closed. */
export function intervalsText(intervals: string[][]): string {
  return intervals.map(([start, end]) => `${start}-${end}`).join(", ");
}

/** Typed intervals as the API takes them (the API checks the times). */
export function parseIntervals(text: string): string[][] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => part.split("-").map((time) => time.trim()));
}

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/** The tenant's default business hours (other schedules are kept as they are). */
export function BusinessHours() {
  const { t } = useI18n();
  const [schedules, setSchedules] = useState<Schedule[]>([]);
  const [form, setForm] = useState({ name: "Office hours", time_zone: "UTC", days: {} as Record<string, string>, holidays: "" });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const show = useCallback((found: Schedule[]) => {
    setSchedules(found);
    const main = found.find((schedule) => schedule.default) ?? found[0];
    if (main) {
      setForm({
        name: main.name,
        time_zone: main.time_zone,
        days: Object.fromEntries(DAYS.map((day) => [day, intervalsText(main.week[day] ?? [])])),
        holidays: main.holidays.join(", "),
      });
    } else {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      const weekday = "09:00-17:00";
      setForm({ name: "Office hours", time_zone: zone, days: { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday }, holidays: "" });
    }
  }, []);
  useEffect(() => {
    api.GET("/v1/settings/business-hours").then((found) => show(unwrap(found).schedules)).catch((caught) => setError(errorText(caught)));
  }, [show]);
  async function save(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const week = Object.fromEntries(DAYS.map((day) => [day, parseIntervals(form.days[day] ?? "")])) as Week;
    const main = { name: form.name, default: true, time_zone: form.time_zone, week, holidays: list(form.holidays) };
    const others = schedules
      .filter((schedule) => !schedule.default && schedule.name !== form.name)
      .map(({ name, time_zone, week: theirs, holidays }) => ({ name, default: false, time_zone, week: theirs, holidays }));
    try {
      show(unwrap(await api.PUT("/v1/settings/business-hours", { body: { schedules: [main, ...others] } })).schedules);
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <form className="card" onSubmit={save} aria-labelledby="hours-title">
      <h2 id="hours-title">{t("hours.title")}</h2>
      <p className="muted">{t("hours.help")}</p>
      <label>
        {t("hours.name")}
        <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} translate="no" />
      </label>
      <label>
        {t("hours.zone")}
        <input value={form.time_zone} onChange={(e) => setForm({ ...form, time_zone: e.target.value })} translate="no" placeholder="Europe/Berlin" />
      </label>
      <fieldset className="week">
        <legend>{t("hours.week")}</legend>
        {DAYS.map((day) => (
          <label key={day}>
            {t(`hours.day.${day}` as Key)}
            <input
              value={form.days[day] ?? ""}
              placeholder={t("hours.closed")}
              inputMode="numeric"
              onChange={(e) => setForm({ ...form, days: { ...form.days, [day]: e.target.value } })}
            />
          </label>
        ))}
      </fieldset>
      <label>
        {t("hours.holidays")}
        <input value={form.holidays} onChange={(e) => setForm({ ...form, holidays: e.target.value })} placeholder="2027-01-01, 2027-12-25" translate="no" />
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      {saved && <p role="status" className="muted">{t("settings.saved")}</p>}
      <button type="submit" className="primary">{t("hours.save")}</button>
    </form>
  );
}

type Draft = {
  name: string;
  priority: string[];
  channel: string[];
  intent: string;
  tag: string;
  customer_domain: string;
  minutes: Record<string, string>;
  business: Record<string, boolean>;
  pause_when_pending: boolean;
  warning_minutes: string;
};

const EMPTY: Draft = {
  name: "",
  priority: [],
  channel: [],
  intent: "",
  tag: "",
  customer_domain: "",
  minutes: {},
  business: {},
  pause_when_pending: true,
  warning_minutes: "15",
};

function draftOf(policy: Policy): Draft {
  return {
    name: policy.name,
    priority: policy.conditions.priority,
    channel: policy.conditions.channel,
    intent: policy.conditions.intent.join(", "),
    tag: policy.conditions.tag.join(", "),
    customer_domain: policy.conditions.customer_domain.join(", "),
    minutes: Object.fromEntries(policy.targets.map((target) => [target.kind, String(target.minutes)])),
    business: Object.fromEntries(policy.targets.map((target) => [target.kind, target.business_hours])),
    pause_when_pending: policy.pause_when_pending,
    warning_minutes: String(policy.warning_minutes),
  };
}

/** A target's length as a person reads it: 90 → "1 hr 30 min" ("1小时30分钟"). */
export function minutesText(minutes: number, language: Language): string {
  const parts: [number, string][] = [
    [Math.floor(minutes / 1440), "day"],
    [Math.floor((minutes % 1440) / 60), "hour"],
    [minutes % 60, "minute"],
  ];
  const locale = language === "zh" ? "zh-CN" : "en";
  return parts
    .filter(([value]) => value > 0)
    .map(([value, unit]) => new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "short" }).format(value))
    .join(language === "zh" ? "" : " ");
}

/** The tenant's SLA policies in order, and the form that adds or changes one. */
export function SlaPolicies() {
  const { t, language } = useI18n();
  const [policies, setPolicies] = useState<Policy[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const load = useCallback(() => {
    api.GET("/v1/sla-policies").then((found) => setPolicies(unwrap(found).policies)).catch((caught) => setError(errorText(caught)));
  }, []);
  useEffect(load, [load]);
  async function run(action: () => Promise<unknown>) {
    setSaved(false);
    try {
      await action();
      setError(null);
      load();
      return true;
    } catch (caught) {
      setError(errorText(caught));
      return false;
    }
  }
  async function save(event: FormEvent) {
    event.preventDefault();
    const targets = KINDS.filter((kind) => (draft.minutes[kind] ?? "").trim() !== "").map((kind) => ({
      kind,
      minutes: Number(draft.minutes[kind]),
      business_hours: Boolean(draft.business[kind]),
    }));
    const body: Schemas["PolicyBody"] = {
      name: draft.name,
      conditions: {
        priority: draft.priority,
        channel: draft.channel,
        intent: list(draft.intent),
        tag: list(draft.tag),
        customer_domain: list(draft.customer_domain),
      },
      targets,
      pause_when_pending: draft.pause_when_pending,
      warning_minutes: Number(draft.warning_minutes || 0),
    };
    const done = await run(async () =>
      unwrap(
        editing
          ? await api.PATCH("/v1/sla-policies/{id}", { params: { path: { id: editing } }, body })
          : await api.POST("/v1/sla-policies", { body }),
      ),
    );
    if (done) {
      setEditing(null);
      setDraft(EMPTY);
      setSaved(true);
    }
  }
  const move = (policy: Policy, by: number) =>
    void run(async () =>
      unwrap(await api.PATCH("/v1/sla-policies/{id}", { params: { path: { id: policy.id } }, body: { position: policy.position + by } })),
    );
  const remove = (policy: Policy) =>
    void run(async () => {
      const result = await api.DELETE("/v1/sla-policies/{id}", { params: { path: { id: policy.id } } });
      if (result.error) unwrap(result);
    });
  const conditionsText = (conditions: Policy["conditions"]) => {
    const parts = [
      ...conditions.priority.map((priority) => t(`priority.${priority}` as Key)),
      ...conditions.channel.map((channel) => t(`channel.${channel}` as Key)),
      ...conditions.tag.map((tag) => `#${tag}`),
      ...conditions.intent,
      ...conditions.customer_domain.map((domain) => `@${domain}`),
    ];
    return `(${parts.length ? parts.join(", ") : t("policies.all")})`;
  };
  const toggle = (values: string[], value: string) => (values.includes(value) ? values.filter((v) => v !== value) : [...values, value]);
  return (
    <section className="card" aria-labelledby="policies-title">
      <h2 id="policies-title">{t("policies.title")}</h2>
      <p className="muted">{t("policies.help")}</p>
      {policies.length === 0 && <p className="muted">{t("policies.none")}</p>}
      <ol className="policies">
        {policies.map((policy, index) => (
          <li key={policy.id}>
            <strong translate="no">{policy.name}</strong>{" "}
            <span className="small">{conditionsText(policy.conditions)}</span>{" "}
            <span className="muted small">
              {policy.targets
                .map((target) => `${t(`sla.kind.${target.kind}` as Key)} ${minutesText(target.minutes, language)}${target.business_hours ? ` (${t("policies.business")})` : ""}`)
                .join(" · ")}
            </span>
            <span className="row-actions">
              <button type="button" onClick={() => move(policy, -1)} disabled={index === 0} aria-label={`${t("policies.up")}: ${policy.name}`}>
                ↑
              </button>
              <button type="button" onClick={() => move(policy, 1)} disabled={index === policies.length - 1} aria-label={`${t("policies.down")}: ${policy.name}`}>
                ↓
              </button>
              <button
                type="button"
                onClick={() => {
                  setEditing(policy.id);
                  setDraft(draftOf(policy));
                }}
              >
                {t("policies.edit")}
              </button>
              <button type="button" onClick={() => remove(policy)}>
                {t("policies.delete")}
              </button>
            </span>
          </li>
        ))}
      </ol>
      <form onSubmit={save} aria-label={editing ? t("policies.editing") : t("policies.new")}>
        <h3>{editing ? t("policies.editing") : t("policies.new")}</h3>
        <label>
          {t("policies.name")}
          <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} required maxLength={80} />
        </label>
        <fieldset>
          <legend>{t("policies.targets")}</legend>
          {KINDS.map((kind) => (
            <div key={kind} className="target-row">
              <label>
                {t(`sla.kind.${kind}` as Key)} ({t("policies.minutes")})
                <input
                  type="number"
                  min={1}
                  max={525600}
                  value={draft.minutes[kind] ?? ""}
                  onChange={(e) => setDraft({ ...draft, minutes: { ...draft.minutes, [kind]: e.target.value } })}
                />
              </label>
              <label className="check">
                <input
                  type="checkbox"
                  checked={Boolean(draft.business[kind])}
                  onChange={(e) => setDraft({ ...draft, business: { ...draft.business, [kind]: e.target.checked } })}
                />
                {t("policies.businessHours")}
              </label>
            </div>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("policies.when")}</legend>
          <div className="choices" role="group" aria-label={t("inbox.priority")}>
            {PRIORITIES.map((priority) => (
              <label key={priority} className="check">
                <input type="checkbox" checked={draft.priority.includes(priority)} onChange={() => setDraft({ ...draft, priority: toggle(draft.priority, priority) })} />
                {t(`priority.${priority}` as Key)}
              </label>
            ))}
          </div>
          <div className="choices" role="group" aria-label={t("analytics.channel")}>
            {CHANNELS.map((channel) => (
              <label key={channel} className="check">
                <input type="checkbox" checked={draft.channel.includes(channel)} onChange={() => setDraft({ ...draft, channel: toggle(draft.channel, channel) })} />
                {t(`channel.${channel}` as Key)}
              </label>
            ))}
          </div>
          <label>
            {t("policies.tags")}
            <input value={draft.tag} onChange={(e) => setDraft({ ...draft, tag: e.target.value })} translate="no" />
          </label>
          <label>
            {t("policies.intents")}
            <input value={draft.intent} onChange={(e) => setDraft({ ...draft, intent: e.target.value })} translate="no" />
          </label>
          <label>
            {t("policies.domains")}
            <input value={draft.customer_domain} onChange={(e) => setDraft({ ...draft, customer_domain: e.target.value })} placeholder="acme.com" translate="no" />
          </label>
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={draft.pause_when_pending} onChange={(e) => setDraft({ ...draft, pause_when_pending: e.target.checked })} />
          {t("policies.pause")}
        </label>
        <label>
          {t("policies.warning")}
          <input type="number" min={0} max={10080} value={draft.warning_minutes} onChange={(e) => setDraft({ ...draft, warning_minutes: e.target.value })} />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        {saved && <p role="status" className="muted">{t("settings.saved")}</p>}
        <button type="submit" className="primary">{editing ? t("policies.saveChanges") : t("policies.add")}</button>
        {editing && (
          <button
            type="button"
            onClick={() => {
              setEditing(null);
              setDraft(EMPTY);
            }}
          >
            {t("policies.cancel")}
          </button>
        )}
      </form>
    </section>
  );
}
