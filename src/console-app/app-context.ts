import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Role } from "../access/roles.js";
import type { Clients } from "./api/clients.js";
import type { ConnectionStore } from "./lib/connection-state.js";
import type { Action, Permission } from "./lib/permissions.js";

/** What every page needs, handed down from the app shell (no module-level singletons). */
export interface AppServices {
  readonly clients: Clients;
  readonly connection: ConnectionStore;
  /** The caller as GetInfo.caller_name / caller_role told. */
  readonly caller: { readonly name: string; readonly role: Role };
  /** The node answering (GetInfo.node_id): worker stats describe it. */
  readonly nodeId: string;
  readonly can: (action: Action) => Permission;
  /** Back to the login form with the server's message (an Unauthenticated answer). */
  readonly onUnauthenticated: (e: unknown) => void;
}

export const AppContext = createContext<AppServices | null>(null);

/** The app's services; only valid under the shell (pages are rendered there). */
export function useApp(): AppServices {
  const s = useContext(AppContext);
  if (s === null) throw new Error("useApp() outside <AppContext.Provider>");
  return s;
}
