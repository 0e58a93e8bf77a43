import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as pb from "../gen/shoal/v1/gateway_pb.js";
import type { ModelInfo, ScoreResult } from "../ports/gateway.js";
import * as cv from "./convert.js";
import * as sc from "./score-codec.js";

const str = fc.string({ unit: "grapheme", maxLength: 20 });
const windowArb = fc.record({
  deviceId: str,
  metric: str,
  values: fc.array(fc.double({ noNaN: true }), { maxLength: 40 }),
  tsMs: fc.option(fc.array(fc.integer({ min: -1e12, max: 4e12 }), { maxLength: 40 }), { nil: undefined }),
});
const infoArb: fc.Arbitrary<ModelInfo> = fc.record({
  provider: str,
  model: str,
  promptVersion: str,
  cached: fc.boolean(),
  inputTokens: fc.nat({ max: 2 ** 32 - 1 }),
  outputTokens: fc.nat({ max: 2 ** 32 - 1 }),
  costUsd: fc.double({ noNaN: true, min: 0, max: 1e6 }),
  degraded: fc.boolean(),
  degradedReason: fc.constantFrom(undefined, "gated", "budget", "upstream"),
  attempts: fc.nat({ max: 100 }),
  signature: str,
}) as fc.Arbitrary<ModelInfo>;

const norm = (w: { deviceId: string; metric: string; values: readonly number[]; tsMs?: readonly number[] | undefined }) => ({
  deviceId: w.deviceId,
  metric: w.metric,
  values: [...w.values],
  tsMs: [...(w.tsMs ?? [])],
});

describe("score codec is wire-compatible with protobuf-es", () => {
  it("ScoreBatchRequest: ours → protobuf-es and protobuf-es → ours", () => {
    fc.assert(
      fc.property(fc.array(windowArb, { maxLength: 8 }), (windows) => {
        const reqs = windows.map((w) => ({ window: w.tsMs ? w : { deviceId: w.deviceId, metric: w.metric, values: w.values } }));
        const theirs = fromBinary(pb.ScoreBatchRequestSchema, sc.encodeScoreBatchRequest(reqs));
        expect(theirs.requests.map((r) => norm(cv.windowFromPb(r.window)))).toEqual(reqs.map((r) => norm(r.window)));
        const bytes = toBinary(pb.ScoreBatchRequestSchema, create(pb.ScoreBatchRequestSchema, { requests: reqs.map(cv.scoreReqToPb) }));
        expect(sc.decodeScoreBatchRequest(Buffer.from(bytes)).map((r) => norm(r.window))).toEqual(reqs.map((r) => norm(r.window)));
      }),
      { numRuns: 200 },
    );
  });

  it("ScoreBatchResponse: ours → protobuf-es and protobuf-es → ours (errors per item)", () => {
    const item = fc.oneof(fc.record({ score: fc.double({ noNaN: true, min: 0, max: 1 }), model: infoArb }), str.filter((s) => s.length > 0).map((m) => new Error(m)));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        const theirs = fromBinary(pb.ScoreBatchResponseSchema, sc.encodeScoreBatchResponse(items as Array<ScoreResult | Error>));
        const back = items.map((x) => (x instanceof Error ? create(pb.ScoreResponseSchema, { error: x.message }) : cv.scoreResToPb(x)));
        expect(theirs.responses.map((r) => (r.error ? r.error : cv.scoreResFromPb(r)))).toEqual(items.map((x) => (x instanceof Error ? x.message : { ...x, score: x.score + 0 })));
        const ours = sc.decodeScoreBatchResponse(Buffer.from(toBinary(pb.ScoreBatchResponseSchema, create(pb.ScoreBatchResponseSchema, { responses: back }))));
        expect(ours.map((x) => (x instanceof Error ? x.message : x))).toEqual(items.map((x) => (x instanceof Error ? x.message : x)));
      }),
      { numRuns: 200 },
    );
  });

  it("skips unknown fields and accepts unpacked doubles", () => {
    // window { device_id: "d", values: 1.5 (unpacked), field 15 varint 7 }
    const win = Buffer.concat([Buffer.from([0x0a, 1, 0x64, 0x19]), Buffer.from(new Float64Array([1.5]).buffer), Buffer.from([0x78, 7])]);
    const req = Buffer.concat([Buffer.from([0x0a, win.length]), win]);
    expect(sc.decodeScoreRequest(req).window).toEqual({ deviceId: "d", metric: "", values: [1.5] });
  });
});
