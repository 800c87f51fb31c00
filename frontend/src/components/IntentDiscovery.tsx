// Intent discovery: cluster the messages the intent model could not place and show each
// cluster as a proposed intent (its size, keywords, examples and the nearest existing
// intent). An admin accepts it (under the suggested or their own label), merges it into
// an existing intent, or rejects it (clusters like it stay out of later runs).
import { useCallback, useEffect, useState } from "react";

import { api, errorText, unwrap, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

type Run = Schemas["DiscoveryOut"];
type Proposal = Schemas["ProposalOut"];

/** How often a queued run refreshes. */
const POLL_MS = 1500;

/** One proposal with its decision buttons. */
export function ProposalCard({
  proposal,
  intents,
  decide,
}: {
  proposal: Proposal;
  intents: string[];
  decide: (action: "accept" | "merge" | "reject", value?: string) => void;
}) {
  const { t } = useI18n();
  const [label, setLabel] = useState(proposal.label_suggestion);
  const [into, setInto] = useState(proposal.nearest_existing_intent ?? intents[0] ?? "");
  const open = proposal.status === "proposed";
  return (
    <li className={`proposal proposal-${proposal.status}`}>
      <p>
        <strong>{proposal.label_suggestion}</strong> · {proposal.size} {t("discovery.messages")}
        {proposal.nearest_existing_intent && (
          <span className="muted small">
            {" "}
            · {t("discovery.nearest")} {proposal.nearest_existing_intent} (
            {Math.round((proposal.similarity ?? 0) * 100)}%)
          </span>
        )}
      </p>
      {proposal.description && <p className="small">{proposal.description}</p>}
      <p className="small">
        {t("discovery.keywords")}: {proposal.keywords.join(", ") || "–"}
      </p>
      <ul className="examples small">
        {proposal.examples.slice(0, 4).map((example) => (
          <li key={example.message_id}>“{example.text}”</li>
        ))}
      </ul>
      {open ? (
        <div className="row">
          <label>
            {t("intents.label")}{" "}
            <input value={label} onChange={(e) => setLabel(e.target.value)} pattern="[a-z0-9_]+" size={20} />
          </label>
          <button type="button" className="primary" onClick={() => decide("accept", label)}>
            {t("discovery.accept")}
          </button>
          <label>
            {t("discovery.mergeInto")}{" "}
            <select value={into} onChange={(e) => setInto(e.target.value)}>
              {intents.map((intent) => (
                <option key={intent} value={intent}>
                  {intent}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => decide("merge", into)} disabled={!into}>
            {t("discovery.merge")}
          </button>
          <button type="button" className="link danger" onClick={() => decide("reject")}>
            {t("discovery.reject")}
          </button>
        </div>
      ) : (
        <p className="small muted">
          {t(`discovery.status.${proposal.status}`)}
          {proposal.decided_label ? `: ${proposal.decided_label}` : ""}
        </p>
      )}
    </li>
  );
}

export function IntentDiscovery({ intents, changed }: { intents: string[]; changed: () => void }) {
  const { t } = useI18n();
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const latest = unwrap(await api.GET("/v1/intents/discovery")).data[0];
    setRun(latest ? unwrap(await api.GET("/v1/intents/discovery/{id}", { params: { path: { id: latest.id } } })) : null);
  }, []);

  useEffect(() => {
    load().catch((caught) => setError(errorText(caught)));
  }, [load]);

  const queued = run?.status === "queued";
  useEffect(() => {
    if (!queued) return;
    const timer = window.setInterval(() => void load().catch(() => {}), POLL_MS);
    return () => window.clearInterval(timer);
  }, [queued, load]);

  const start = async () => {
    try {
      setRun(unwrap(await api.POST("/v1/intents/discovery", { body: {} })));
      setError(null);
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  const decide = (proposal: Proposal) => async (action: "accept" | "merge" | "reject", value?: string) => {
    if (!run) return;
    const path = { id: run.id, proposal_id: proposal.id };
    try {
      if (action === "accept") {
        unwrap(await api.POST("/v1/intents/discovery/{id}/proposals/{proposal_id}/accept", { params: { path }, body: { label: value } }));
      } else if (action === "merge") {
        unwrap(await api.POST("/v1/intents/discovery/{id}/proposals/{proposal_id}/merge", { params: { path }, body: { into: value ?? "" } }));
      } else {
        unwrap(await api.POST("/v1/intents/discovery/{id}/proposals/{proposal_id}/reject", { params: { path } }));
      }
      setError(null);
      await load();
      if (action !== "reject") changed();
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  const proposals = run?.proposals ?? [];
  return (
    <section className="discovery card" aria-labelledby="discovery-title">
      <h2 id="discovery-title">{t("discovery.title")}</h2>
      <p className="muted small">{t("discovery.explain")}</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {run && (
        <p className="small">
          {queued ? t("discovery.running") : `${run.messages} ${t("discovery.looked")} · ${proposals.length} ${t("discovery.found")}`}
          {run.error && <span className="error"> {run.error}</span>}
        </p>
      )}
      <button type="button" onClick={() => void start()} disabled={queued}>
        {t("discovery.start")}
      </button>
      {proposals.length > 0 && (
        <ol className="proposals">
          {proposals.map((proposal) => (
            <ProposalCard key={proposal.id} proposal={proposal} intents={intents} decide={(a, v) => void decide(proposal)(a, v)} />
          ))}
        </ol>
      )}
    </section>
  );
}
