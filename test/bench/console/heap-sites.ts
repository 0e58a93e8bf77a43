/**
 * Where a page's live JS heap was allocated: Chromium's sampling heap profiler (DevTools
 * HeapProfiler.startSampling) keeps a sample of the objects allocated since it started that are
 * still alive, with their allocation stacks. After a forced GC, the bytes still held are summed by
 * allocation site (the innermost frame of the app's bundle, mapped back to src/ through the
 * bundle's source map when there is one) and by the stack that led there.
 */
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { join } from "node:path";
import type { CDPSession } from "playwright-core";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: ProfileNode[];
}

/** Start sampling (every `intervalBytes` allocated, on average). */
export async function startHeapSampling(cdp: CDPSession, intervalBytes = 4096): Promise<void> {
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.startSampling", { samplingInterval: intervalBytes });
}

/** The live sampled bytes by allocation site, largest first: `top` rows. `appDir`: where the bundle and its map are. */
export async function heapSites(cdp: CDPSession, appDir: string, top = 12): Promise<Record<string, string | number>[]> {
  await cdp.send("HeapProfiler.collectGarbage");
  const { profile } = (await cdp.send("HeapProfiler.getSamplingProfile")) as unknown as { profile: { head: ProfileNode } };
  await cdp.send("HeapProfiler.stopSampling");
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (url: string): SourceMap | null => {
    if (!maps.has(url)) {
      const file = /\/(app\.[A-Z0-9]+\.js)$/.exec(url)?.[1];
      let m: SourceMap | null = null;
      if (file) {
        try {
          m = new SourceMap(JSON.parse(readFileSync(join(appDir, `${file}.map`), "utf8")) as SourceMapPayload);
        } catch {
          m = null;
        }
      }
      maps.set(url, m);
    }
    return maps.get(url)!;
  };
  const where = (f: CallFrame): string => {
    const m = f.url ? mapOf(f.url) : null;
    const e = m?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number; name?: string } | undefined;
    if (e?.originalSource) return `${e.originalSource.replace(/^.*?(node_modules\/|src\/)/, "$1")}:${(e.originalLine ?? 0) + 1}${e.name ? ` ${e.name}` : ""}`;
    return `${f.functionName || "(anonymous)"} ${f.url ? f.url.replace(/^.*\//, "") : "(native)"}:${f.lineNumber + 1}`;
  };
  const bySite = new Map<string, { bytes: number; stack: string }>();
  let total = 0;
  const walk = (n: ProfileNode, stack: CallFrame[]) => {
    const s = [...stack, n.callFrame];
    if (n.selfSize > 0) {
      total += n.selfSize;
      const site = where(n.callFrame);
      const entry = bySite.get(site) ?? { bytes: 0, stack: s.slice(-4, -1).reverse().map(where).join(" ← ") };
      entry.bytes += n.selfSize;
      bySite.set(site, entry);
    }
    for (const c of n.children) walk(c, s);
  };
  walk(profile.head, []);
  return [...bySite]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([site, e]) => ({ "allocated at (live after GC)": site, KB: Number((e.bytes / 1024).toFixed(1)), "% of sampled": Number(((e.bytes / Math.max(1, total)) * 100).toFixed(1)), "called from": e.stack }));
}
