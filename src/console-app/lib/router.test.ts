import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Route } from "./router.js";
import { ALERT_STATE_NAMES, DEFAULT_ALERT_STATES, HOME, SEVERITY_NAMES, TEXT_KINDS, deviceHref, formatRoute, parseHash } from "./router.js";

describe("parseHash", () => {
  it("reads every page of the console", () => {
    expect(parseHash("")).toEqual(HOME);
    expect(parseHash("#/")).toEqual(HOME);
    expect(parseHash("#/fleet?prefix=dev-1")).toEqual({ page: "fleet", prefix: "dev-1" });
    expect(parseHash("#/device/dev-7?from=1000&to=2000")).toEqual({ page: "device", id: "dev-7", fromMs: 1000, toMs: 2000 });
    expect(parseHash("#/device/dev-7?at=1500&metric=temp")).toEqual({ page: "device", id: "dev-7", atMs: 1500, metric: "temp" });
    expect(parseHash("#/alerts?state=open")).toEqual({ page: "alerts", states: ["open"], device: "" });
    expect(parseHash("#/alerts?state=resolved,open&severity=critical&device=d1")).toEqual({ page: "alerts", states: ["open", "resolved"], device: "d1", severity: "critical" });
    expect(parseHash("#/cluster")).toEqual({ page: "cluster" });
    expect(parseHash("#/config?filter=detector&key=detector.threshold")).toEqual({ page: "config", filter: "detector", key: "detector.threshold" });
    expect(parseHash("#/search?q=overheat%20after%20restart&kind=log")).toEqual({ page: "search", q: "overheat after restart", kinds: ["log"], device: "" });
  });

  it("defaults alerts to the open ones and reads state=all", () => {
    expect(parseHash("#/alerts")).toEqual({ page: "alerts", states: DEFAULT_ALERT_STATES, device: "" });
    expect(parseHash("#/alerts?state=bogus")).toEqual({ page: "alerts", states: DEFAULT_ALERT_STATES, device: "" });
    expect(parseHash("#/alerts?state=all")).toMatchObject({ states: [...ALERT_STATE_NAMES] });
  });

  it("ignores a bad or inverted range (the page shows live data instead)", () => {
    expect(parseHash("#/device/d?from=2000&to=1000")).toEqual({ page: "device", id: "d" });
    expect(parseHash("#/device/d?from=abc&to=1000")).toEqual({ page: "device", id: "d" });
    expect(parseHash("#/device/d?from=1&to=99999999999999999999")).toEqual({ page: "device", id: "d" });
  });

  it("decodes device ids and survives malformed escapes", () => {
    expect(parseHash("#/device/a%2Fb")).toMatchObject({ id: "a/b" });
    expect(parseHash("#/device/%E0%A4%A")).toMatchObject({ page: "device", id: "%E0%A4%A" });
  });

  it("sends unknown paths to not-found", () => {
    expect(parseHash("#/nope")).toEqual({ page: "not-found", path: "/nope" });
    expect(parseHash("#/cluster/extra")).toEqual({ page: "not-found", path: "/cluster/extra" });
    expect(parseHash("#/device")).toEqual({ page: "not-found", path: "/device" });
  });
});

describe("formatRoute", () => {
  it("writes short links, leaving defaults out", () => {
    expect(formatRoute({ page: "fleet", prefix: "" })).toBe("#/fleet");
    expect(formatRoute({ page: "fleet", prefix: "dev-1" })).toBe("#/fleet?prefix=dev-1");
    expect(formatRoute({ page: "alerts", states: ["open", "acknowledged"], device: "" })).toBe("#/alerts");
    expect(formatRoute({ page: "alerts", states: ["open"], device: "" })).toBe("#/alerts?state=open");
    expect(formatRoute({ page: "alerts", states: ["resolved", "open", "acknowledged"], device: "" })).toBe("#/alerts?state=all");
    expect(deviceHref("dev 1", { fromMs: 1, toMs: 2 })).toBe("#/device/dev%201?from=1&to=2");
    expect(formatRoute({ page: "search", q: "a&b", kinds: [], device: "" })).toBe("#/search?q=a%26b");
  });

  const text = fc.string({ maxLength: 12 });
  const id = fc.string({ minLength: 1, maxLength: 12 });
  const ms = fc.integer({ min: 0, max: 4_000_000_000_000 });
  const subset = <T extends string>(all: readonly T[]) => fc.subarray([...all]);
  const route: fc.Arbitrary<Route> = fc.oneof(
    fc.record({ page: fc.constant("fleet" as const), prefix: text }),
    fc
      .record({ id, a: ms, b: ms, at: fc.option(ms, { nil: undefined }), metric: fc.option(id, { nil: undefined }), ranged: fc.boolean() })
      .map(({ id, a, b, at, metric, ranged }): Route => ({
        page: "device",
        id,
        ...(ranged && a !== b ? { fromMs: Math.min(a, b), toMs: Math.max(a, b) } : {}),
        ...(at !== undefined ? { atMs: at } : {}),
        ...(metric !== undefined ? { metric } : {}),
      })),
    fc.record({ states: subset(ALERT_STATE_NAMES).filter((s) => s.length > 0), device: text, severity: fc.option(fc.constantFrom(...SEVERITY_NAMES), { nil: undefined }) }).map(({ states, device, severity }): Route => ({ page: "alerts", states, device, ...(severity ? { severity } : {}) })),
    fc.constant<Route>({ page: "cluster" }),
    fc.record({ filter: text, key: fc.option(id, { nil: undefined }) }).map(({ filter, key }): Route => ({ page: "config", filter, ...(key !== undefined ? { key } : {}) })),
    fc.record({ q: text, kinds: subset(TEXT_KINDS), device: text }).map((r): Route => ({ page: "search", ...r })),
  );

  it("round-trips: parseHash(formatRoute(r)) is r", () => {
    fc.assert(
      fc.property(route, (r) => {
        expect(parseHash(formatRoute(r))).toEqual(r);
      }),
    );
  });
});
