import { useEffect, useState } from "react";

import { session, whenUnauthorized } from "./api/client";
import { useI18n } from "./i18n";
import { AnalyticsPage } from "./pages/Analytics";
import { Inbox } from "./pages/Inbox";
import { Knowledge } from "./pages/Knowledge";
import { Login } from "./pages/Login";
import { Settings } from "./pages/Settings";
import { TicketView } from "./pages/TicketView";

/** The route in the URL's hash: `#/`, `#/tickets/<id>`, `#/knowledge`. */
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
  const [signedIn, setSignedIn] = useState(session.token() !== null);
  const [route, go] = useRoute();
  useEffect(() => whenUnauthorized(() => setSignedIn(false)), []);

  if (!signedIn) return <Login onSignedIn={() => setSignedIn(true)} />;
  const ticket = /^\/tickets\/([0-9a-f-]+)$/.exec(route)?.[1];
  return (
    <div className="app">
      <nav aria-label={t("app.title")}>
        <strong>{t("app.title")}</strong>
        <a href="#/">{t("nav.inbox")}</a>
        <a href="#/knowledge">{t("nav.knowledge")}</a>
        <a href="#/analytics">{t("nav.analytics")}</a>
        <a href="#/settings">{t("nav.settings")}</a>
        <span className="spacer" />
        <button type="button" className="link" onClick={toggle}>
          {t("language.switch")}
        </button>
        <button
          type="button"
          className="link"
          onClick={() => {
            session.clear();
            setSignedIn(false);
          }}
        >
          {t("nav.logout")}
        </button>
      </nav>
      <main>
        {ticket ? (
          <TicketView id={ticket} back={() => go("/")} />
        ) : route === "/knowledge" ? (
          <Knowledge />
        ) : route === "/settings" ? (
          <Settings />
        ) : route === "/analytics" ? (
          <AnalyticsPage />
        ) : (
          <Inbox open={(id) => go(`/tickets/${id}`)} />
        )}
      </main>
    </div>
  );
}
