import { useEffect, useState } from "react";

import { api, session, whenReachabilityChanges, whenUnauthorized, whoAmI, type Schemas } from "./api/client";
import { FirstSteps } from "./components/FirstSteps";
import { ShortcutHelp } from "./components/Shortcuts";
import { setTenantIntents, useI18n } from "./i18n";
import { AnalyticsPage } from "./pages/Analytics";
import { Audit } from "./pages/Audit";
import { Inbox } from "./pages/Inbox";
import { Intents } from "./pages/Intents";
import { Knowledge } from "./pages/Knowledge";
import { Login } from "./pages/Login";
import { Settings } from "./pages/Settings";
import { TicketView } from "./pages/TicketView";

/** The route in the URL's hash: `#/`, `#/tickets/<id>`, `#/knowledge`, … */
function useRoute(): [string, (route: string) => void] {
  const [route, setRoute] = useState(window.location.hash.slice(1) || "/");
  useEffect(() => {
    const changed = () => setRoute(window.location.hash.slice(1) || "/");
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return [route, (next) => (window.location.hash = next)];
}

export function App() {
  const { t, toggle } = useI18n();
  const [signedIn, setSignedIn] = useState(session.present());
  const [route, go] = useRoute();
  useEffect(() => whenUnauthorized(() => setSignedIn(false)), []);
  const [reachable, setReachable] = useState(true);
  useEffect(() => whenReachabilityChanges(setReachable), []);
  // While the service cannot be reached, it is asked again every few seconds.
  useEffect(() => {
    if (reachable) return;
    const timer = window.setInterval(() => void api.GET("/v1/me"), 5000);
    return () => window.clearInterval(timer);
  }, [reachable]);
  const banner = !reachable && (
    <p role="alert" className="offline">
      {t("app.unreachable")}{" "}
      <button type="button" className="link" onClick={() => void api.GET("/v1/me")}>
        {t("app.retry")}
      </button>
    </p>
  );

  const [role, setRole] = useState<Schemas["Role"] | null>(null);
  // The tenant's intent labels and their names; every screen shows them once read.
  const [, setNamesRead] = useState(0);
  useEffect(() => {
    if (!signedIn) return;
    void whoAmI().then((me) => setRole(me?.role ?? null));
    api.GET("/v1/intents").then((found) => {
      setTenantIntents(found.data?.labels ?? []);
      setNamesRead((count) => count + 1);
    });
  }, [signedIn]);

  if (!signedIn)
    return (
      <>
        {banner}
        <Login onSignedIn={() => setSignedIn(true)} />
      </>
    );
  const ticket = /^\/tickets\/([0-9a-f-]+)$/.exec(route)?.[1];
  const admin = role === "owner" || role === "admin";
  const links: [string, string][] = [
    ["/", t("nav.inbox")],
    ["/knowledge", t("nav.knowledge")],
    ...(admin ? ([["/intents", t("nav.intents")]] as [string, string][]) : []),
    ["/analytics", t("nav.analytics")],
    ...(admin ? ([["/settings", t("nav.settings")]] as [string, string][]) : []),
    ...(admin ? ([["/audit", t("nav.audit")]] as [string, string][]) : []),
  ];
  const current = ticket ? "/" : route;
  return (
    <div className="app">
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        {t("nav.skip")}
      </a>
      <nav aria-label={t("app.title")}>
        <strong>{t("app.title")}</strong>
        {links.map(([path, label]) => (
          <a key={path} href={`#${path}`} aria-current={current === path ? "page" : undefined}>
            {label}
          </a>
        ))}
        <span className="spacer" />
        <button type="button" className="link" onClick={toggle} lang={t("language.switch") === "English" ? "en" : "zh"}>
          {t("language.switch")}
        </button>
        <button
          type="button"
          className="link"
          onClick={() => {
            void api.POST("/v1/auth/logout").finally(() => {
              session.forget();
              setSignedIn(false);
            });
          }}
        >
          {t("nav.logout")}
        </button>
      </nav>
      {banner}
      <ShortcutHelp />
      <main id="main" tabIndex={-1}>
        {ticket ? (
          // On wide screens the inbox stands beside the ticket (styles.css decides, so a
          // change of width never reloads either or loses what the agent typed).
          <div className="workspace">
            <Inbox compact current={ticket} open={(id) => go(`/tickets/${id}`)} />
            <TicketView key={ticket} id={ticket} back={() => go("/")} open={(id) => go(`/tickets/${id}`)} />
          </div>
        ) : route === "/knowledge" ? (
          <Knowledge />
        ) : route === "/intents" ? (
          <Intents />
        ) : route === "/settings" ? (
          <Settings />
        ) : route === "/audit" ? (
          <Audit />
        ) : route === "/analytics" ? (
          <AnalyticsPage />
        ) : (
          <>
            {admin && <FirstSteps />}
            <Inbox open={(id) => go(`/tickets/${id}`)} />
          </>
        )}
      </main>
    </div>
  );
}
