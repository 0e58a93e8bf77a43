import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { App } from "./app.js";
import { createTokenStore } from "./api/session.js";

/** The composition root of the browser app: the same-origin server, this tab's token store, the app. */
const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");
render(<App baseUrl={window.location.origin} tokens={createTokenStore(window.sessionStorage)} />, root);
