#!/usr/bin/env node
// Builds the operators' console (docs/adr/0018-console.md): esbuild bundles src/console-app/main.tsx
// into dist/console/ as app.<hash>.js, app.<hash>.css and chunks (chunk.<hash>.js: the pages other
// than the fleet's, loaded when first shown, and the code they share with the app), and
// src/console-app/boot.ts on its own as boot.<hash>.js (a few KiB, no dependency), all
// long-cacheable, with an index.html that names them (not cacheable). boot is a plain script that
// runs first and sends the page's first calls while the app loads (src/console-app/api/early-calls.ts);
// index.html preloads the chunks the app imports, so none waits for another. Nothing is fetched at run time.
//
//   node scripts/build-console.mjs               build
//   node scripts/build-console.mjs --if-missing  build only when dist/console/index.html is missing
//                                                or older than a source (cheap: `npm start` calls it)
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "src/console-app");
const OUT = join(ROOT, "dist/console");
const INDEX = join(OUT, "index.html");
/** Sources outside the two watched folders that the last build read (src/base, src/access, ...). */
const INPUTS = join(ROOT, "dist/.console-inputs.json");
const FLAGS = new Set(["--if-missing"]);

const args = process.argv.slice(2);
const unknown = args.filter((a) => !FLAGS.has(a));
if (unknown.length > 0) {
  console.error(`build-console: unknown option ${unknown.join(" ")} (known: ${[...FLAGS].join(" ")})`);
  process.exit(2);
}

/** Newest modification time (ms) of the files under `dir`, 0 when it does not exist. */
async function newestIn(dir) {
  let newest = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const s = await stat(join(e.parentPath ?? e.path, e.name));
    if (s.mtimeMs > newest) newest = s.mtimeMs;
  }
  return newest;
}

async function upToDate() {
  if (!existsSync(INDEX)) return false;
  const built = (await stat(INDEX)).mtimeMs;
  const dirs = [SRC, join(ROOT, "src/gen")];
  for (const d of dirs) if ((await newestIn(d)) >= built) return false;
  let extra = [];
  try {
    extra = JSON.parse(await readFile(INPUTS, "utf8"));
  } catch {
    return false;
  }
  for (const f of [...extra, "package-lock.json", "scripts/build-console.mjs"]) {
    try {
      if ((await stat(join(ROOT, f))).mtimeMs >= built) return false;
    } catch {
      return false;
    }
  }
  return true;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function main() {
  const started = performance.now();
  if (args.includes("--if-missing") && (await upToDate())) {
    console.log("build-console: dist/console is up to date");
    return;
  }
  await mkdir(OUT, { recursive: true });
  const result = await build({
    entryPoints: { app: join(SRC, "main.tsx") },
    bundle: true,
    splitting: true,
    minify: true,
    sourcemap: true,
    target: "es2022",
    format: "esm",
    platform: "browser",
    outdir: OUT,
    entryNames: "[name].[hash]",
    assetNames: "[name].[hash]",
    chunkNames: "chunk.[hash]",
    tsconfig: join(SRC, "tsconfig.json"),
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });

  // The boot script: a classic script (it runs before the app's modules, in document order).
  const bootResult = await build({
    entryPoints: { boot: join(SRC, "boot.ts") },
    bundle: true,
    minify: true,
    sourcemap: true,
    target: "es2022",
    format: "iife",
    platform: "browser",
    outdir: OUT,
    entryNames: "[name].[hash]",
    tsconfig: join(SRC, "tsconfig.json"),
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });

  const outputs = [...Object.keys(result.metafile.outputs), ...Object.keys(bootResult.metafile.outputs)].map((p) => join(ROOT, p));
  const js = outputs.find((p) => /app\.[A-Z0-9]+\.js$/.test(p));
  const boot = outputs.find((p) => /boot\.[A-Z0-9]+\.js$/.test(p));
  const css = outputs.find((p) => /app\.[A-Z0-9]+\.css$/.test(p));
  if (!js || !boot || !css) throw new Error(`build-console: expected boot.<hash>.js, app.<hash>.js and app.<hash>.css, got ${outputs.map((p) => basename(p)).join(", ")}`);
  // The chunks the two scripts import statically (not the pages they load on demand), preloaded.
  const staticChunks = new Set();
  const walk = (out) => {
    for (const i of result.metafile.outputs[relative(ROOT, out)]?.imports ?? []) {
      if (i.kind !== "import-statement" || staticChunks.has(i.path)) continue;
      staticChunks.add(i.path);
      walk(join(ROOT, i.path));
    }
  };
  walk(js);
  const preloads = [...staticChunks].map((p) => `<link rel="modulepreload" href="${basename(p)}">\n`).join("");

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Shoal console</title>
<link rel="icon" href="data:,">
<script src="${basename(boot)}"></script>
<link rel="stylesheet" href="${basename(css)}">
${preloads}<script type="module" src="${basename(js)}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Shoal console needs JavaScript.</noscript>
</body>
</html>
`;
  // index.html last and atomically: a server reading it mid-build sees the old or the new app, whole.
  await writeFile(`${INDEX}.tmp`, html);
  await rename(`${INDEX}.tmp`, INDEX);

  // Drop the previous builds' hashed files.
  const keep = new Set([...outputs.map((p) => basename(p)), "index.html"]);
  for (const name of await readdir(OUT)) if (!keep.has(name)) await rm(join(OUT, name), { force: true });

  const extra = [...new Set([...Object.keys(result.metafile.inputs), ...Object.keys(bootResult.metafile.inputs)])].filter((p) => !p.startsWith("node_modules/") && !p.startsWith("src/console-app/") && !p.startsWith("src/gen/"));
  await writeFile(INPUTS, JSON.stringify(extra, null, 1));

  const rows = [...outputs, INDEX].filter((p) => !p.endsWith(".map")).map(async (p) => {
    const body = await readFile(p);
    return [relative(ROOT, p), kb(body.length), kb(gzipSync(body).length)];
  });
  console.log("build-console: wrote");
  for (const [file, size, gz] of await Promise.all(rows)) console.log(`  ${file.padEnd(36)} ${size.padStart(10)}  ${gz.padStart(10)} gzip`);
  console.log(`build-console: done in ${Math.round(performance.now() - started)} ms`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
