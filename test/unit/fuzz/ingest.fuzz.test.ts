import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAcl, mayPublish, topicMatches } from "../../fuzz/ingest/acl.js";
import { arbAclInput, arbJsonInput, arbProtoInput, arbReplyInput, arbTopicInput, topicDeviceGuess } from "../../fuzz/ingest/arbitraries.js";
import type { IngestInput } from "../../fuzz/ingest/contract.js";
import { corpusOf, mutatorGenerator } from "../../fuzz/ingest/generators.js";
import { checkInput } from "../../fuzz/ingest/oracle.js";
import { runIngest } from "../../fuzz/ingest/run.js";
import { deviceAcls } from "../../../src/adapters/mqtt/dynsec-roles.js";

/**
 * The ingest fuzzers' properties (test/fuzz/ingest/oracle.ts, acl.ts, bridge-drive.ts) on ~20,000
 * inputs with fixed seeds, so CI keeps them honest; `npm run fuzz:ingest` runs them on 10^6.
 * fast-check shrinks a failing input to a small one and prints it.
 */
const enc = new TextEncoder();

/** Every violation of one input: the codec's properties and the device's ACL property. */
function violationsOf(input: IngestInput): string[] {
  const aclId = input.aclDevice ?? topicDeviceGuess(input.topic);
  return [...checkInput(input).violations, ...checkAcl(aclId, input.topic).violations];
}

describe("ingest fuzzing (codec, topic, ACL, bridge core)", () => {
  it("the oracle accepts a valid reading and flags what breaks the contract", () => {
    const good = { topic: "devices/d-1/readings", payload: enc.encode(JSON.stringify({ deviceId: "d-1", tsMs: Date.parse("2026-12-04T11:59:00Z"), metrics: { t: 1 } })), profile: 0 };
    expect(checkInput(good)).toMatchObject({ outcome: { accepted: true, readings: 1 }, violations: [] });
    const stale = { ...good, payload: enc.encode(JSON.stringify({ deviceId: "d-1", tsMs: 1, metrics: { t: 1 } })) };
    expect(checkInput(stale)).toMatchObject({ outcome: { accepted: false, code: "invalid_field" }, violations: [] });
    expect(checkInput({ ...good, topic: "devices/+/readings" }).outcome).toMatchObject({ accepted: false, code: "invalid_topic" });
  });

  it("MQTT matching and a device's ACL: its own subtree only, no prefix of another id", () => {
    expect(topicMatches("devices/a/#", "devices/a")).toBe(true);
    expect(topicMatches("devices/a/#", "devices/a/readings/x")).toBe(true);
    expect(topicMatches("devices/a/#", "devices/ab/readings")).toBe(false);
    expect(topicMatches("devices/+/readings", "devices/a/b/readings")).toBe(false);
    expect(topicMatches("#", "$SYS/x")).toBe(false);
    const acls = deviceAcls("a");
    expect(mayPublish(acls, "devices/a/readings")).toBe(true);
    expect(mayPublish(acls, "devices/a-b/readings")).toBe(false);
    expect(mayPublish(acls, "devices/b/readings")).toBe(false);
    expect(mayPublish(acls, "devices/a/+")).toBe(false);
    expect(checkAcl("a", "devices/a/x/readings")).toEqual({ allowed: true, violations: [] });
  });

  const arbitraries: Array<[string, fc.Arbitrary<IngestInput>, number]> = [
    ["near-valid JSON payloads", arbJsonInput, 4000],
    ["near-valid protobuf payloads", arbProtoInput, 3000],
    ["topics", arbTopicInput, 2000],
    ["a device's ACL against topics near its own", arbAclInput, 2000],
    ["command replies (the downlink's parseReply, replies nested up to 6,000 levels)", arbReplyInput, 1500],
  ];
  for (const [i, [name, arb, numRuns]] of arbitraries.entries()) {
    it(`${name}: no throw; accepted readings keep the invariants, rejections have a code and a reason`, () => {
      fc.assert(
        fc.property(arb, (input) => {
          expect(violationsOf(input)).toEqual([]);
        }),
        { numRuns, seed: 1700 + i },
      );
    });
  }

  it("raw-bytes mutations of valid payloads: the same properties", () => {
    const gen = mutatorGenerator(corpusOf(5, 300), 1);
    const bad: string[] = [];
    const codes = new Set<string>();
    for (const input of gen.sample(11, 5000)) {
      const c = checkInput(input);
      if (c.outcome && !c.outcome.accepted) codes.add(c.outcome.code);
      for (const v of [...c.violations, ...checkAcl(topicDeviceGuess(input.topic), input.topic).violations]) bad.push(`${Buffer.from(input.payload).toString("hex")}: ${v}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    // The mutator reaches both decoders' failures.
    expect([...codes]).toEqual(expect.arrayContaining(["malformed_json", "malformed_protobuf", "invalid_field"]));
  });

  it("the bridge core acknowledges every message exactly once and ends it as the contract says: its readings journaled or a dead letter with the code", async () => {
    const run = await runIngest({ n: 4000, seed: 3, chunk: 1000 });
    expect(run.examples).toEqual([]);
    // Command replies go to the downlink's parser (checked above), every other input to the bridge core.
    const replies = run.byGenerator.get("reply (fast-check)")!.inputs;
    expect(replies).toBeGreaterThan(0);
    expect(run.bridge).toMatchObject({ messages: 4000 - replies, acked: 4000 - replies, violations: 0 });
    const gens = [...run.byGenerator.values()].filter((s) => s.inputs > 0);
    // Every generator makes both accepted and rejected inputs (none degenerated into one kind).
    for (const s of gens) expect(s.accepted > 0 && s.rejected > 0).toBe(true);
    const byCode = run.bridge.rejectedByCode;
    // Every dead letter is counted by its code; devices the registry refuses were among them; readings were journaled.
    expect(Object.values(byCode).reduce((n, c) => n + c, 0)).toBe(run.bridge.deadLetters);
    expect((byCode.unknown_device ?? 0) + (byCode.device_disabled ?? 0)).toBeGreaterThan(0);
    expect(run.bridge.journalReadings).toBeGreaterThan(0);
  });
});
