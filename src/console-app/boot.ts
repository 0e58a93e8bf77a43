import { sendEarlyCalls } from "./api/early-calls.js";

/**
 * The page's first script, tiny and run before the app's (scripts/build-console.mjs): sends the
 * calls the page at the URL makes first, so that the server works on them while the browser still
 * loads and runs the app, which takes their answers over (src/console-app/api/early-calls.ts).
 */
sendEarlyCalls(window);
