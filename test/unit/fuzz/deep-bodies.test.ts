import { describe, expect, it } from "vitest";
import { AuditService } from "../../../src/gen/shoal/v1/audit_pb.js";
import { DeviceService } from "../../../src/gen/shoal/v1/device_pb.js";
import { deepGroups, deepMessages } from "../../fuzz/grpc/requests.js";
import { writeFields } from "../../fuzz/ingest/pb-writer.js";

/**
 * The gRPC fuzzer's deepest request bodies (test/fuzz/grpc/requests.ts) are cheap to build. The
 * fuzzer runs in the process of the servers it calls, so the time it spends building a request
 * stalls their HTTP/2 I/O: a 5,000-deep message built level by level took ~0.4 s, and the
 * 200 KB–1 MB bodies in flight, moved one 64 KiB flow-control window per loop turn, then took
 * past the 20 s deadline — "hangs" of the query and admin gRPC servers that were the fuzzer's own.
 * They are now written once, from the inside out (1.3 ms for 5,000 deep; measured, not asserted
 * here: speed is for benchmarks); this checks they are still the bytes they stand for.
 */

/** The bytes the deep bodies must have: each level written around the one inside it. */
function nestedReference(no: number, depth: number): Buffer {
  let inner: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < depth; i++) inner = writeFields([{ no, kind: "bytes", bytes: inner }]);
  return Buffer.from(inner);
}

function groupsReference(depth: number, no: number): Buffer {
  const fields = (d: number): Parameters<typeof writeFields>[0] => (d === 0 ? [] : [{ no, kind: "group", fields: fields(d - 1) }]);
  return Buffer.from(writeFields(fields(depth)));
}

describe("gRPC fuzzer: deep request bodies", () => {
  it("are the nested encodings they stand for", () => {
    const listAudit = AuditService.methods[0]!.input;
    const noOf = (d: typeof listAudit) => (d.fields.find((f) => f.fieldKind === "message") ?? d.fields[0])?.number ?? 1;
    for (const desc of [listAudit, ...DeviceService.methods.map((m) => m.input)]) {
      for (const depth of [0, 1, 2, 100, 300]) expect(deepMessages(desc, depth).equals(nestedReference(noOf(desc), depth)), `${desc.typeName} ${depth}`).toBe(true);
    }
    for (const no of [1, 2, 99]) for (const depth of [0, 1, 100, 300]) expect(deepGroups(depth, no).equals(groupsReference(depth, no)), `groups ${no} ${depth}`).toBe(true);
  });

  it("have the sizes the fuzzer sends at the deepest it asks for", () => {
    expect(deepMessages(AuditService.methods[0]!.input, 5000).length).toBe(14_936);
    expect(deepGroups(100_000, 99).length).toBe(400_000);
  });
});
