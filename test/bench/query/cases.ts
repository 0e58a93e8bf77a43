/**
 * The calls bench:query times, over the loaded dataset: each request is made from the call's number
 * (a seeded pick of device, metric, hour), so runs of the same dataset ask the same things.
 */
import type { GetDeviceResponse, ListAnalysesResponse, ListDevicesResponse, ListReadingsResponse } from "../../../src/gen/shoal/v1/query_pb.js";
import { pageToken } from "../../../src/query/query-service.js";
import { deviceId, rng } from "./dataset.js";
import type { KeptDataset } from "./keep.js";
import { resolutionOf, type CallCase } from "./rpc.js";

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A number in [0, n) picked by call number `i` (and the seed). */
export function pick(seed: number, i: number, n: number): number {
  return Math.floor(rng(seed * 7919 + i)() * n);
}

/** Id prefix matching about a tenth of the fleet (dev-0X of 10 000 devices, dev-00X of 1 000). */
export function prefixOf(d: KeptDataset, i: number, seed: number): string {
  const digits = Math.max(1, 5 - Math.max(0, Math.round(Math.log10(d.devices / 10))));
  return deviceId(pick(seed, i, d.devices)).slice(0, 4 + digits);
}

const devicesOf = (r: unknown) => {
  const x = r as ListDevicesResponse;
  return `${x.devices.length} devices${x.nextPageToken !== "" ? " + next page" : ""}`;
};

export function benchCases(d: KeptDataset, seed: number): CallCase[] {
  const month = { fromMs: BigInt(d.endMs - Math.min(30, d.days) * DAY), toMs: BigInt(d.endMs) };
  const dev = (i: number) => deviceId(pick(seed, i, d.devices));
  const metric = (i: number) => (pick(seed + 1, i, 2) === 0 ? "temp" : "hum");
  const hours = Math.max(1, Math.floor((d.endMs - d.startMs) / HOUR) - 1);
  return [
    {
      name: "ListReadings 1 device, 1 metric, 30 days, max_points 1000",
      method: "ListReadings",
      request: (i) => ({ deviceId: dev(i), metric: metric(i), ...month, maxPoints: 1000 }),
      targetP99Ms: 50,
      describe: (r) => resolutionOf(r as ListReadingsResponse),
    },
    {
      name: "ListDevices first page of 100",
      method: "ListDevices",
      request: () => ({ pageSize: 100 }),
      targetP99Ms: 100,
      describe: devicesOf,
    },
    {
      name: "ListDevices id prefix (~1/10 of the fleet), page of 100",
      method: "ListDevices",
      request: (i) => ({ idPrefix: prefixOf(d, i, seed), pageSize: 100 }),
      describe: devicesOf,
    },
    {
      name: "ListDevices later page of 100 (after a device at 40-60 %)",
      method: "ListDevices",
      request: (i) => ({ pageSize: 100, pageToken: pageToken(deviceId(Math.floor(d.devices * 0.4) + pick(seed, i, Math.max(1, Math.floor(d.devices * 0.2))))) }),
      describe: devicesOf,
    },
    {
      name: "GetDevice",
      method: "GetDevice",
      request: (i) => ({ deviceId: dev(i) }),
      describe: (r) => {
        const x = r as GetDeviceResponse;
        return `${x.metrics.length} metrics (last hour), ${x.recentEvents.length} events`;
      },
    },
    {
      name: "ListReadings raw, 1 hour",
      method: "ListReadings",
      request: (i) => {
        const from = d.startMs + pick(seed + 2, i, hours) * HOUR;
        return { deviceId: dev(i), metric: metric(i), fromMs: BigInt(from), toMs: BigInt(from + HOUR), maxPoints: 1000 };
      },
      describe: (r) => resolutionOf(r as ListReadingsResponse),
    },
    {
      name: "ListAnalyses 1 device, 30 days",
      method: "ListAnalyses",
      request: (i) => ({ deviceId: dev(i), ...month }),
      describe: (r) => `${(r as ListAnalysesResponse).analyses.length} analyses`,
    },
  ];
}
