import { describe, expect, it } from "vitest";
import { isTimeout, retryOnTimeout } from "./admin-retry.js";

const timeout = () => Object.assign(new Error("timeout"), { name: "TimeoutError" });

describe("retryOnTimeout", () => {
  it("asks again while the request times out, then returns its answer", async () => {
    let calls = 0;
    const r = await retryOnTimeout(async () => {
      if (++calls < 3) throw timeout();
      return "created";
    });
    expect({ r, calls }).toEqual({ r: "created", calls: 3 });
  });

  it("throws other errors at once, and the last timeout once the budget is spent", async () => {
    let calls = 0;
    await expect(
      retryOnTimeout(async () => {
        calls++;
        throw new Error("stream name already in use with a different configuration");
      }),
    ).rejects.toThrow(/already in use/);
    expect(calls).toBe(1);
    await expect(retryOnTimeout(async () => Promise.reject(timeout()), 0)).rejects.toThrow("timeout");
  });

  it("knows a timeout when it sees one", () => {
    expect(isTimeout(timeout())).toBe(true);
    expect(isTimeout(new Error("request timed out"))).toBe(true);
    expect(isTimeout(new Error("no responders available"))).toBe(false);
  });
});
