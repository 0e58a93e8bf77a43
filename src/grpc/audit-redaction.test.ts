import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SetDeviceEnabledRequestSchema } from "../gen/shoal/v1/device_pb.js";
import { hasUrlCredentials } from "../base/url-credentials.js";
import { redactedDetails } from "./audit.js";

/**
 * The rule as one regular expression (quadratic in a long string, so not used): a scheme character
 * right before `://` (a scheme may start with a digit here — redacting more is the safe side).
 */
const URL_CREDENTIALS = /[a-z0-9+.-]:\/\/[^:/@\s]*:[^@/\s]+@/i;

const reasonOf = (reason: string) => (redactedDetails(SetDeviceEnabledRequestSchema, create(SetDeviceEnabledRequestSchema, { id: "d", reason })) as { reason: string }).reason;

describe("audit redaction of passwords in URLs", () => {
  it("finds what the one regular expression finds (strings of URL characters, fast-check)", () => {
    const alphabet = fc.constantFrom("a", "Z", "1", "+", ".", "-", ":", "/", "@", " ", "\n", "_", "é");
    const near = fc.oneof(fc.string({ unit: alphabet, maxLength: 30 }), fc.tuple(fc.string({ unit: alphabet, maxLength: 8 }), fc.constantFrom("://", "://u:p@", "nats://", ":p@", "1://a:b@"), fc.string({ unit: alphabet, maxLength: 8 })).map((p) => p.join("")));
    fc.assert(
      fc.property(near, (s) => {
        expect(hasUrlCredentials(s)).toBe(URL_CREDENTIALS.test(s));
      }),
      { numRuns: 20_000, seed: 17 },
    );
    expect(hasUrlCredentials("nats://user:pass@host:4222")).toBe(true);
    expect(hasUrlCredentials("x1-HTTP+s://u:p@h")).toBe(true);
    expect(hasUrlCredentials("-1://u:p@h")).toBe(true);
    expect(hasUrlCredentials(" ://u:p@h")).toBe(false);
    expect(hasUrlCredentials("nats://host:4222/x@y")).toBe(false);
  });

  it("strings of megabytes are read in linear time, and a password at their end is still redacted", () => {
    // Before: every position of a scheme-character run was tried as the scheme's start; 4 MiB of
    // letters took hours (with the event loop blocked) and this test ran into its timeout.
    const mib = 4 * 1024 * 1024;
    expect(reasonOf("b".repeat(mib))).toContain(`${mib - 1024} more characters`);
    expect(reasonOf(`${"a".repeat(mib)}://host/x`)).toContain("more characters");
    expect(reasonOf(`a://${":".repeat(mib)}`)).toContain("more characters");
    expect(reasonOf(`${"b".repeat(mib)} nats://user:hunter2@host:4222`)).toBe("[redacted]");
    expect(hasUrlCredentials(`${"x".repeat(mib)}://u:p@h`)).toBe(true);
  });
});
