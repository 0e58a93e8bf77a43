/**
 * Every page but the fleet's, in ONE chunk loaded when the first of them is shown (shell.tsx's
 * lazyPage): the fleet page, where the console opens, loads and runs without their code (uPlot,
 * the forms), and the browser fetches a few chunks at start rather than one per page.
 */
export { AlertsPage } from "./alerts-page.js";
export { AuditPage } from "./audit-page.js";
export { ClusterPage } from "./cluster-page.js";
export { CommandsPage } from "./commands-page.js";
export { ConfigPage } from "./config-page.js";
export { DevicePage } from "./device-page.js";
export { DevicesPage } from "./devices-page.js";
export { SearchPage } from "./search-page.js";
