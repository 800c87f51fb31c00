// Model profiles and routing: the tenant's named LLM endpoints (keys write-only, prices per
// million tokens) with each one's circuit breaker, and the profiles each feature tries in
// order. `default` is the LLM set above and is edited there.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n, type Key } from "../i18n";

type Profile = Schemas["LlmProfileOut"];
type Route = Schemas["LlmRouteOut"];
type Feature = Schemas["LlmFeature"];

/** A profile as edited: numbers as typed, the key empty unless replaced. */
type Draft = {
  name: string;
  base_url: string;
  model: string;
  api_key: string;
  api_key_set: boolean;
  price_in: string;
  price_out: string;
  timeout: string;
  /** Kept as they are: set through the API, not here. */
  kept: Pick<Profile, "temperature" | "max_tokens" | "supports_json_schema">;
};

const toDraft = (profile: Profile): Draft => ({
  name: profile.name,
  base_url: profile.base_url,
  model: profile.model,
  api_key: "",
  api_key_set: profile.api_key_set,
  price_in: profile.price_per_million_input_tokens?.toString() ?? "",
  price_out: profile.price_per_million_output_tokens?.toString() ?? "",
  timeout: profile.timeout_seconds?.toString() ?? "",
  kept: { temperature: profile.temperature, max_tokens: profile.max_tokens, supports_json_schema: profile.supports_json_schema },
});

const number = (text: string) => (text.trim() === "" ? undefined : Number(text));

/** How a profile's endpoint is doing, in words an admin can act on. */
export function Health({ profile }: { profile: Profile }) {
  const { t } = useI18n();
  const health = profile.health;
  return (
    <span>
      <span className={`badge breaker-${health.state}`}>{t(`models.state.${health.state}` as Key)}</span>
      {health.until && health.state !== "closed" && (
        <span className="muted"> {t("models.until")} {new Date(health.until).toLocaleTimeString()}</span>
      )}
      {health.last_error && health.state !== "closed" && <div className="muted small" translate="no">{health.last_error}</div>}
    </span>
  );
}

export function ModelProfiles() {
  const { t } = useI18n();
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [routes, setRoutes] = useState<Route[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const load = useCallback(async () => {
    try {
      const [shown, routed] = await Promise.all([api.GET("/v1/settings/llm/profiles"), api.GET("/v1/settings/llm/routes")]);
      const list = unwrap(shown).profiles;
      setProfiles(list);
      setDrafts(list.filter((profile) => !profile.default).map(toDraft));
      setRoutes(unwrap(routed).routes);
    } catch (caught) {
      setError(errorText(caught));
    }
  }, []);
  useEffect(() => void load(), [load]);

  const change = (index: number, patch: Partial<Draft>) =>
    setDrafts((current) => current.map((draft, at) => (at === index ? { ...draft, ...patch } : draft)));

  async function saveProfiles(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      const body: Schemas["LlmProfilesIn"] = {
        profiles: drafts.map((draft) => {
          const profile: Schemas["LlmProfileIn"] = {
            ...draft.kept,
            name: draft.name.trim(),
            base_url: draft.base_url.trim(),
            model: draft.model.trim(),
            price_per_million_input_tokens: number(draft.price_in),
            price_per_million_output_tokens: number(draft.price_out),
            timeout_seconds: number(draft.timeout),
          };
          if (draft.api_key) profile.api_key = draft.api_key;
          return profile;
        }),
      };
      unwrap(await api.PUT("/v1/settings/llm/profiles", { body }));
      await load();
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function saveRoute(feature: Feature, names: string[]) {
    setSaved(false);
    try {
      const body: Schemas["LlmRoutesIn"] = { routes: [{ feature, profiles: names.filter(Boolean) }] };
      setRoutes(unwrap(await api.PUT("/v1/settings/llm/routes", { body })).routes);
      setError(null);
      setSaved(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  // `default` is routable even while no LLM is set: its calls then fall through to the next profile.
  const names = [...new Set(["default", ...profiles.map((profile) => profile.name)])];
  return (
    <section className="card" aria-labelledby="models-title">
      <h2 id="models-title">{t("models.title")}</h2>
      <p className="muted">{t("models.intro")}</p>
      <table>
        <thead>
          <tr>
            <th>{t("models.name")}</th>
            <th>{t("settings.llm.model")}</th>
            <th>{t("models.health")}</th>
          </tr>
        </thead>
        <tbody>
          {profiles.map((profile) => (
            <tr key={profile.name}>
              <td translate="no">{profile.name}</td>
              <td translate="no">{profile.model}</td>
              <td><Health profile={profile} /></td>
            </tr>
          ))}
          {profiles.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">{t("models.none")}</td>
            </tr>
          )}
        </tbody>
      </table>

      <form onSubmit={saveProfiles} aria-label={t("models.edit")}>
        {drafts.map((draft, index) => (
          <fieldset key={index} className="profile">
            <legend translate="no">{draft.name || t("models.new")}</legend>
            <label>
              {t("models.name")}
              <input value={draft.name} required pattern="[a-z][a-z0-9_\-]{0,63}" onChange={(e) => change(index, { name: e.target.value })} />
            </label>
            <label>
              {t("settings.llm.endpoint")}
              <input value={draft.base_url} required placeholder="https://api.openai.com/v1" translate="no" onChange={(e) => change(index, { base_url: e.target.value })} />
            </label>
            <label>
              {t("settings.llm.model")}
              <input value={draft.model} required onChange={(e) => change(index, { model: e.target.value })} />
            </label>
            <label>
              {t("settings.llm.key")} {draft.api_key_set ? t("settings.keep") : ""}
              <input type="password" autoComplete="off" value={draft.api_key} onChange={(e) => change(index, { api_key: e.target.value })} />
            </label>
            <label>
              {t("models.priceIn")}
              <input inputMode="decimal" value={draft.price_in} onChange={(e) => change(index, { price_in: e.target.value })} />
            </label>
            <label>
              {t("models.priceOut")}
              <input inputMode="decimal" value={draft.price_out} onChange={(e) => change(index, { price_out: e.target.value })} />
            </label>
            <label>
              {t("models.timeout")}
              <input inputMode="numeric" value={draft.timeout} onChange={(e) => change(index, { timeout: e.target.value })} />
            </label>
            <button type="button" onClick={() => setDrafts((current) => current.filter((_, at) => at !== index))}>
              {t("models.remove")}
            </button>
          </fieldset>
        ))}
        <div className="actions">
          <button
            type="button"
            onClick={() =>
              setDrafts((current) => [
                ...current,
                {
                  name: "",
                  base_url: "",
                  model: "",
                  api_key: "",
                  api_key_set: false,
                  price_in: "",
                  price_out: "",
                  timeout: "",
                  kept: { supports_json_schema: false },
                },
              ])
            }
          >
            {t("models.add")}
          </button>
          <button type="submit" className="primary">{t("models.save")}</button>
        </div>
      </form>

      <h3>{t("models.routes")}</h3>
      <p className="muted">{t("models.routesIntro")}</p>
      <table>
        <thead>
          <tr>
            <th>{t("models.feature")}</th>
            <th>{t("models.first")}</th>
            <th>{t("models.then")}</th>
          </tr>
        </thead>
        <tbody>
          {routes.map((route) => (
            <tr key={route.feature}>
              <td>{t(`models.feature.${route.feature}` as Key)}</td>
              {[0, 1].map((position) => (
                <td key={position}>
                  <select
                    aria-label={`${t(`models.feature.${route.feature}` as Key)}: ${position === 0 ? t("models.first") : t("models.then")}`}
                    value={route.profiles[position] ?? ""}
                    onChange={(e) => {
                      const next = [...route.profiles.slice(0, 2)];
                      next[position] = e.target.value;
                      void saveRoute(route.feature, next.filter((name, at) => name && next.indexOf(name) === at));
                    }}
                  >
                    {position > 0 && <option value="">—</option>}
                    {names.map((name) => (
                      <option key={name} value={name}>{name}</option>
                    ))}
                  </select>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {error ? <p role="alert" className="error">{error}</p> : saved ? <p role="status" className="muted">{t("settings.saved")}</p> : null}
    </section>
  );
}
