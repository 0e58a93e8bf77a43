import { useEffect, useRef } from "preact/hooks";
import type { GetInfoResponse } from "../gen/shoal/v1/admin_pb.js";
import { useApp } from "./app-context.js";
import { Badge } from "./components/bits.js";
import { ConnectionStatus } from "./components/connection-status.js";
import { useRoute } from "./hooks/use-route.js";
import type { PageName, Route } from "./lib/router.js";
import { formatRoute } from "./lib/router.js";
import { FleetPage } from "./pages/fleet-page.js";
import { lazyPage } from "./components/lazy-page.js";

// Every page but the fleet's (where the console opens) is loaded when the first of them is shown.
const laterPages = () => import("./pages/later-pages.js");
const AlertsPage = lazyPage(() => laterPages().then((m) => m.AlertsPage));
const ClusterPage = lazyPage(() => laterPages().then((m) => m.ClusterPage));
const ConfigPage = lazyPage(() => laterPages().then((m) => m.ConfigPage));
const DevicePage = lazyPage(() => laterPages().then((m) => m.DevicePage));
const SearchPage = lazyPage(() => laterPages().then((m) => m.SearchPage));
const AuditPage = lazyPage(() => laterPages().then((m) => m.AuditPage));
const CommandsPage = lazyPage(() => laterPages().then((m) => m.CommandsPage));
const DevicesPage = lazyPage(() => laterPages().then((m) => m.DevicesPage));

const NAV: ReadonlyArray<{ readonly page: PageName; readonly label: string; readonly route: Route }> = [
  { page: "fleet", label: "Fleet", route: { page: "fleet", prefix: "" } },
  { page: "alerts", label: "Alerts", route: { page: "alerts", states: ["open", "acknowledged"], device: "" } },
  { page: "cluster", label: "Cluster", route: { page: "cluster" } },
  { page: "config", label: "Config", route: { page: "config", filter: "" } },
  { page: "search", label: "Search", route: { page: "search", q: "", kinds: [], device: "" } },
  { page: "devices", label: "Devices", route: { page: "devices", prefix: "", type: "", label: "", enabled: "any" } },
  { page: "commands", label: "Commands", route: { page: "commands", device: "", command: "" } },
  { page: "audit", label: "Audit", route: { page: "audit", actor: "", action: "", target: "" } },
];

const TITLES: Record<PageName, string> = { fleet: "Fleet", device: "Device", alerts: "Alerts", cluster: "Cluster", config: "Config", search: "Search", devices: "Devices", commands: "Commands", audit: "Audit", "not-found": "Not found" };

export interface ShellProps {
  readonly info: GetInfoResponse;
  /** A token is in use (offer Sign out); false when the server checks none. */
  readonly signedIn: boolean;
  readonly onSignOut: () => void;
}

/** The frame of every page: skip link, header (navigation, live status, who is signed in), the page. */
export function Shell({ info, signedIn, onSignOut }: ShellProps) {
  const app = useApp();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  // A new page (not a new filter on the same page) moves focus to its content, as a page load would.
  const pageKey = route.page === "device" ? `device/${route.id}` : route.page;
  const firstPage = useRef(true);
  useEffect(() => {
    document.title = `${TITLES[route.page]}${route.page === "device" ? ` ${route.id}` : ""} · Shoal console`;
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
    window.scrollTo(0, 0);
  }, [pageKey]);

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        data-testid="skip-link"
        onClick={(e) => {
          // The hash is the router's: move focus without navigating.
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/fleet">
          Shoal
        </a>
        <nav aria-label="Main" class="nav">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={formatRoute(n.route)} aria-current={route.page === n.page || (n.page === "fleet" && route.page === "device") ? "page" : undefined} data-testid={`nav-${n.page}`}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-right">
          <ConnectionStatus store={app.connection} />
          <span class="who" data-testid="caller" title={`node ${info.nodeId} · ${info.version}`}>
            <span data-testid="caller-name">{app.caller.name}</span> <Badge tone={app.caller.role === "viewer" ? "neutral" : app.caller.role === "operator" ? "info" : "warn"} testid="caller-role">{app.caller.role}</Badge>
          </span>
          {signedIn && (
            <button type="button" class="btn btn-small btn-quiet" onClick={onSignOut} data-testid="sign-out">
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} class="main" data-page={route.page}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { readonly route: Route }) {
  switch (route.page) {
    case "fleet":
      return <FleetPage route={route} />;
    case "device":
      return <DevicePage key={route.id} route={route} />;
    case "alerts":
      return <AlertsPage route={route} />;
    case "cluster":
      return <ClusterPage />;
    case "config":
      return <ConfigPage route={route} />;
    case "search":
      return <SearchPage route={route} />;
    case "devices":
      return <DevicesPage route={route} />;
    case "commands":
      return <CommandsPage route={route} />;
    case "audit":
      return <AuditPage route={route} />;
    case "not-found":
      return (
        <div data-testid="page-not-found">
          <h1>Nothing at {route.path}</h1>
          <p>
            <a href="#/fleet">Go to the fleet</a>
          </p>
        </div>
      );
  }
}
