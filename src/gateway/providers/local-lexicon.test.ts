import { describe, expect, it } from "vitest";
import { cosineDistance } from "../../domain/window-features.js";
import { createLocalModels } from "./local.js";

/** The local text embedding finds an explanation by a paraphrase that shares no words with it. */
describe("local text embedding with the lexicon", () => {
  const m = createLocalModels();
  const base = Array.from({ length: 40 }, (_, i) => 20 + Math.sin(i / 3));
  const windows: Record<string, number[]> = {
    spike: [...base, 60],
    dip: [...base, -20],
    flat: Array(41).fill(5),
    shift: [...base.slice(0, 30), ...Array(11).fill(45)],
  };
  const corpus: Array<[string, string]> = [];
  for (const metric of ["temperature", "humidity", "pressure", "vibration"]) {
    for (const [shape, values] of Object.entries(windows)) {
      const e = m.explain({ deviceId: "dev-7", metric, values }, 0.97);
      corpus.push([`${metric}/${shape}`, `${e.summary} ${e.likelyCause} ${e.suggestedAction}`]);
    }
  }
  corpus.push(["log/door", "door opened by maintenance"], ["log/fw", "firmware update 2.3 installed"]);
  const vectors = corpus.map(([, text]) => m.embedText(text));
  const nearest = (q: string) => {
    const v = m.embedText(q);
    return corpus.map(([id], i) => ({ id, d: cosineDistance(v, vectors[i]!) })).sort((a, b) => a.d - b.d).map((x) => x.id);
  };

  it.each([
    ["the device is overheating in a short burst", "temperature/spike"],
    ["moisture probe is frozen and unchanging", "humidity/flat"],
    ["a sharp decrease of pressure", "pressure/dip"],
    ["shaking persisted at a new plateau", "vibration/shift"],
  ])("%s → %s in the top 3", (query, expected) => {
    expect(nearest(query).slice(0, 3)).toContain(expected);
  });
});
