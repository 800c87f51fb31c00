// The ticket's custom fields in the sidebar: each active field with an input of its kind,
// saved together; a refused value says why. Fields marked required show so.
import { useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas, type Ticket } from "../api/client";
import { useI18n } from "../i18n";

type Field = Schemas["FieldOut"];
type Value = string | number | boolean | string[] | null;

/** A field's value as its input holds it. */
function shown(field: Field, value: unknown): Value {
  if (value === undefined || value === null) return field.kind === "multi_select" ? [] : field.kind === "checkbox" ? false : "";
  return value as Value;
}

/** An input's value as the API takes it (`null` clears). */
function sent(field: Field, value: Value): Value {
  if (field.kind === "number") return value === "" || value === null ? null : Number(value);
  if (field.kind === "multi_select") return Array.isArray(value) && value.length > 0 ? value : null;
  if (field.kind === "checkbox") return Boolean(value);
  return value === "" ? null : value;
}

export function TicketFields({ ticket, onSaved }: { ticket: Ticket; onSaved: (ticket: Ticket) => void }) {
  const { t } = useI18n();
  const [fields, setFields] = useState<Field[]>([]);
  const [values, setValues] = useState<Record<string, Value>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api.GET("/v1/ticket-fields").then((found) => found.data && setFields(found.data.fields.filter((field) => field.active)));
  }, []);
  useEffect(() => {
    setValues(Object.fromEntries(fields.map((field) => [field.key, shown(field, ticket.fields[field.key])])));
  }, [fields, ticket.fields]);
  if (fields.length === 0) return null;
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const changed = Object.fromEntries(fields.map((field) => [field.key, sent(field, values[field.key] ?? null)]));
      onSaved(unwrap(await api.PATCH("/v1/tickets/{id}", { params: { path: { id: ticket.id } }, body: { fields: changed } })));
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const set = (key: string, value: Value) => setValues((current) => ({ ...current, [key]: value }));
  return (
    <form className="ticket-fields" aria-label={t("fields.title")} onSubmit={(e) => void save(e)}>
      <h3>{t("fields.title")}</h3>
      {fields.map((field) => {
        const value = values[field.key];
        // The tenant's own words, not the console's: left as written.
        const label = (
          <span translate="no">
            {field.label}
            {field.required_on_solve ? " *" : ""}
          </span>
        );
        if (field.kind === "checkbox") {
          return (
            <label key={field.key} className="check">
              <input type="checkbox" checked={Boolean(value)} onChange={(e) => set(field.key, e.target.checked)} /> {label}
            </label>
          );
        }
        if (field.kind === "select") {
          return (
            <label key={field.key}>
              {label}
              <select value={String(value ?? "")} onChange={(e) => set(field.key, e.target.value)}>
                <option value="">—</option>
                {field.options.map((option) => (
                  <option key={option} translate="no">
                    {option}
                  </option>
                ))}
              </select>
            </label>
          );
        }
        if (field.kind === "multi_select") {
          const chosen = Array.isArray(value) ? value : [];
          return (
            <fieldset key={field.key}>
              <legend>{label}</legend>
              {field.options.map((option) => (
                <label key={option} className="check">
                  <input
                    type="checkbox"
                    checked={chosen.includes(option)}
                    onChange={(e) => set(field.key, e.target.checked ? [...chosen, option] : chosen.filter((o) => o !== option))}
                  />{" "}
                  <span translate="no">{option}</span>
                </label>
              ))}
            </fieldset>
          );
        }
        return (
          <label key={field.key}>
            {label}
            <input
              type={field.kind === "number" ? "number" : field.kind === "date" ? "date" : "text"}
              value={String(value ?? "")}
              onChange={(e) => set(field.key, e.target.value)}
            />
          </label>
        );
      })}
      <button type="submit">{t("fields.save")}</button>
      {saved && <span role="status"> {t("fields.saved")}</span>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {fields.some((field) => field.required_on_solve) && <p className="muted small">{t("fields.requiredNote")}</p>}
    </form>
  );
}
