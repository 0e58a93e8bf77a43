import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { App } from "./app.js";
import { createTokenStore } from "./api/session.js";
import { earlyCallsOf } from "./api/early-calls.js";

/** The composition root of the browser app: the same-origin server, this tab's token store, the calls boot.ts sent early, the app. */
const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");
const early = earlyCallsOf(window);
render(<App baseUrl={window.location.origin} tokens={createTokenStore(window.sessionStorage)} {...(early ? { fetch: early.fetch } : {})} />, root);
