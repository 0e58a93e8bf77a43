import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createRowSink, csvHeader, csvLine, jsonLine } from "./detect-output.js";
import type { DetectRow } from "./detect-output.js";

const row: DetectRow = {
  ts: "2014-04-01 00:00:00",
  tsMs: Date.UTC(2014, 3, 1),
  score: 0.9123456789012345,
  anomaly: true,
  reasons: [
    { metric: "temp", term: "range", score: 0.9123456789012345 },
    { metric: "rpm", term: "joint", score: 0.5 },
  ],
  incident: "2014-04-01 00:00:00",
  scores: new Map([
    ["temp", 0.9123456789012345],
    ["rpm", 1e-17],
  ]),
};

/** A destination that takes `perTick` bytes per event-loop turn and remembers the most it ever held. */
function slowStream(perTick: number): Writable & { text: () => string; peak: () => number } {
  const parts: string[] = [];
  let peak = 0;
  const w = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      parts.push(chunk.toString());
      setTimeout(done, Math.ceil(chunk.length / perTick));
    },
  });
  const origWrite = w.write.bind(w);
  w.write = ((chunk: string, ...rest: never[]) => {
    const r = origWrite(chunk, ...rest);
    peak = Math.max(peak, w.writableLength);
    return r;
  }) as typeof w.write;
  return Object.assign(w, { text: () => parts.join(""), peak: () => peak });
}

describe("shoal detect's output", () => {
  it("prints CSV lines with exact numbers, quoted reasons and empty cells for absent metrics", () => {
    expect(csvHeader(["temp", "rpm", "a,b"])).toBe('timestamp,score,anomaly,reasons,incident,temp_score,rpm_score,"a,b_score"\n');
    const line = csvLine(row, ["temp", "rpm", "flow"]);
    expect(line).toBe('2014-04-01 00:00:00,0.9123456789012345,1,temp: range 0.91; rpm: joint 0.50,2014-04-01 00:00:00,0.9123456789012345,1e-17,\n');
    expect(csvLine({ ...row, ts: 'a "b", c', reasons: [], anomaly: false, incident: "" }, [])).toBe('"a ""b"", c",0.9123456789012345,0,,\n');
  });

  it("prints JSON lines whose numbers read back as the same doubles", () => {
    const back = JSON.parse(jsonLine(row)) as Record<string, unknown>;
    expect(back).toEqual({ ts: row.ts, tsMs: row.tsMs, score: row.score, anomaly: true, reasons: row.reasons, incident: row.incident, scores: { temp: 0.9123456789012345, rpm: 1e-17 } });
    expect(jsonLine(row).endsWith("}\n")).toBe(true);
  });

  it("waits while the destination is full: what it holds stays bounded, everything arrives in order", async () => {
    const dest = slowStream(64 * 1024);
    const sink = createRowSink((c) => dest.write(c), dest, true, 4096);
    let expected = "";
    let waits = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = `${i},${i * 0.1}\n`;
      expected += text;
      const wait = sink.write(text);
      if (wait !== undefined) {
        waits++;
        await wait;
      }
    }
    await sink.end();
    expect(sink.failure).toBeUndefined();
    expect(dest.text()).toBe(expected);
    expect(waits).toBeGreaterThan(10);
    // Never more than one chunk (4,096 characters) beyond the destination's high-water mark queued.
    expect(dest.peak()).toBeLessThanOrEqual(4096 + 64 + 1024);
  });

  it("keeps the destination's error (EPIPE: the reader went away) instead of throwing, and stops writing", async () => {
    let writes = 0;
    const dest = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, done) {
        writes++;
        setImmediate(() => done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })));
      },
    });
    const sink = createRowSink((c) => dest.write(c), dest, false, 32);
    for (let i = 0; i < 100 && sink.failure === undefined; i++) await sink.write("0123456789abcdef0123456789abcdef\n");
    await sink.end();
    expect(sink.failure?.code).toBe("EPIPE");
    expect(writes).toBe(1);
  });
});
