import { describe, expect, it } from "vitest";
import { consoleBanner, deviceOutcomes } from "./up.command.js";

describe("shoal up's device line", () => {
  it("sums the device counters over workers, names drops only when there are some, and counts epochs and alert transitions", () => {
    expect(deviceOutcomes([{ applied: 5, duplicate: 0, epochsInferred: 1, alertTransitions: 2 }, { applied: 7, seq_out_of_range: 2, epochsFromBoot: 3, alertTransitions: 1 }])).toBe(
      "applied 12, seq_out_of_range 2, epochs started 4, alert transitions 3",
    );
    expect(deviceOutcomes([])).toBe("applied 0, epochs started 0, alert transitions 0");
  });
});

describe("shoal up's banner", () => {
  it("names the console's URL", () => {
    expect(consoleBanner("http://127.0.0.1:50058")).toBe("console: http://127.0.0.1:50058/");
    expect(consoleBanner(undefined)).toBe("console: not started, see the log");
  });
});
