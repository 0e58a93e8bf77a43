import { guard } from "../grpc/guard.js";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { ReadModel } from "../ports/read-model.js";
import type { VectorKind, VectorStore } from "../ports/vector-store.js";
import type { QueryService } from "../gen/shoal/v1/query_pb.js";
import { Resolution } from "../gen/shoal/v1/query_pb.js";
import { analysisOf, deviceOf, pointOf } from "./convert.js";
import { readSeries } from "./list-readings.js";
import { findSimilarIncidents } from "./similar-incidents.js";
import * as v from "./validate.js";
import { MAX_FLEET_TOP, type FleetHub } from "./fleet-hub.js";
import { MAX_COALESCE_MS, type WatchHub } from "./watch-hub.js";

const DAY = 86_400_000;
/** Longest range a query may name (the hourly rollup's default retention). */
const MAX_RANGE_MS = 5 * 366 * DAY;
const TEXT_KINDS: ReadonlySet<string> = new Set(["explanation", "report", "log"]);

export interface QueryServiceDeps {
  readonly readModel: ReadModel;
  /** Absent: the vector searches answer FAILED_PRECONDITION. */
  readonly vectors?: VectorStore | undefined;
  /** Embeds a search text (the model gateway's Embed); absent: SearchText answers FAILED_PRECONDITION. */
  readonly embedText?: ((text: string, signal: AbortSignal) => Promise<ArrayLike<number>>) | undefined;
  readonly watch: WatchHub;
  /** The fleet's figures for WatchFleet, shared by all its watchers; absent: WatchFleet answers FAILED_PRECONDITION. */
  readonly fleet?: FleetHub | undefined;
  readonly now: () => number;
  /** A device not heard from for this long is offline. */
  readonly offlineAfterMs: number;
  /** Where unexpected errors go (callers see INTERNAL without them). */
  readonly onInternalError?: (method: string, err: unknown) => void;
}

/**
 * shoal.v1.QueryService as a Connect implementation: served over gRPC by src/grpc/connect-on-grpc.ts
 * and, unchanged, over gRPC-web/Connect by Connect's node adapter. Arguments are validated first
 * (src/query/validate.ts); storage failures are UNAVAILABLE (retry), anything unexpected INTERNAL
 * without internals in the message.
 */
export function createQueryService(d: QueryServiceDeps): ServiceImpl<typeof QueryService> {
  // A vector collection nothing was indexed into yet: nothing to search, not a failure.
  const guarded = guard(d.onInternalError ?? (() => {}), (e) => ((e as { reason?: unknown }).reason === "missing_collection" ? new ConnectError("nothing of this kind is indexed yet", Code.FailedPrecondition) : undefined));
  return {
    listDevices: guarded(async (req, ctx) => {
      const prefix = v.idPrefix(req.idPrefix);
      const limit = v.limit(req.pageSize, "page_size", 100, 1000);
      const after = pageAfter(req.pageToken);
      const windowMs = v.windowMs(req.anomalyWindowMs, "anomaly_window_ms", DAY, 366 * DAY);
      const now = d.now();
      const rows = await d.readModel.listDevices({ prefix, after, limit: limit + 1, anomaliesSinceMs: now - windowMs }, ctx.signal);
      const page = rows.slice(0, limit);
      return {
        devices: page.map((r) => deviceOf(r, now, d.offlineAfterMs)),
        nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.deviceId) : "",
      };
    }),

    getDevice: guarded(async (req, ctx) => {
      const id = v.deviceId(req.deviceId);
      const windowMs = v.windowMs(req.anomalyWindowMs, "anomaly_window_ms", DAY, 366 * DAY);
      const now = d.now();
      const [device, metrics, events] = await Promise.all([
        d.readModel.getDevice(id, now - windowMs, ctx.signal),
        d.readModel.deviceMetrics(id, ctx.signal),
        d.readModel.deviceEvents(id, 20, ctx.signal),
      ]);
      if (device === undefined) throw new ConnectError(`device ${id}: nothing stored`, Code.NotFound);
      return {
        device: deviceOf(device, now, d.offlineAfterMs),
        metrics: metrics.map((m) => ({ ...m, count: BigInt(m.count), lastTsMs: BigInt(m.lastTsMs) })),
        recentEvents: events.map((e) => ({ ...e, atMs: BigInt(e.atMs), epoch: BigInt(e.epoch), lastSeq: BigInt(e.lastSeq) })),
      };
    }),

    listReadings: guarded(async (req, ctx) => {
      const id = v.deviceId(req.deviceId);
      const metric = v.metric(req.metric);
      const { fromMs, toMs } = v.range(req.fromMs, req.toMs, MAX_RANGE_MS);
      const maxPoints = v.limit(req.maxPoints, "max_points", 1000, 10_000);
      const { resolution: r, points } = await readSeries(d.readModel, { deviceId: id, metric, fromMs, toMs, maxPoints }, ctx.signal);
      return {
        resolution: r.tier === "raw" ? Resolution.RAW : r.tier === "1m" ? Resolution.MINUTE : Resolution.HOUR,
        bucketMs: BigInt(r.bucketMs),
        points: points.map((p) => pointOf(p, r.tier === "raw")),
      };
    }),

    listAnalyses: guarded(async (req, ctx) => {
      const deviceId = v.optionalDeviceId(req.deviceId);
      const { fromMs, toMs } = v.range(req.fromMs, req.toMs, MAX_RANGE_MS);
      const minScore = v.score(req.minScore, "min_score");
      const limit = v.limit(req.limit, "limit", 100, 1000);
      const rows = await d.readModel.analyses({ deviceId, fromMs, toMs, minScore, limit }, ctx.signal);
      return { analyses: rows.map(analysisOf) };
    }),

    searchSimilarIncidents: guarded(async (req, ctx) => {
      const vectors = need(d.vectors, "no vector store is configured (vectors.store)");
      const deviceId = v.deviceId(req.deviceId);
      const k = v.limit(req.k, "k", 10, 100);
      const windowed = req.windowFromMs !== 0n || req.windowToMs !== 0n;
      const anchor = windowed
        ? { kind: "window" as const, deviceId, metric: v.metric(req.metric), ...rename(v.range(req.windowFromMs, req.windowToMs, 30 * DAY, ["window_from_ms", "window_to_ms"])) }
        : { kind: "anomaly" as const, deviceId, metric: req.metric === "" ? "" : v.metric(req.metric), atMs: v.time(req.tsMs, "ts_ms") };
      const incidents = await findSimilarIncidents({ readModel: d.readModel, vectors }, anchor, k, req.otherDevicesOnly, ctx.signal);
      return { incidents: incidents.map((i) => ({ ...i, tsMs: BigInt(i.tsMs), epoch: BigInt(i.epoch), seq: BigInt(i.seq) })) };
    }),

    searchText: guarded(async (req, ctx) => {
      const vectors = need(d.vectors, "no vector store is configured (vectors.store)");
      const embed = need(d.embedText, "no model gateway to embed the query");
      const query = v.text(req.query, "query", 2000);
      const k = v.limit(req.k, "k", 10, 100);
      const deviceId = v.optionalDeviceId(req.deviceId);
      for (const kind of req.kinds) if (!TEXT_KINDS.has(kind)) throw v.invalid("kinds", `"${kind.slice(0, 32)}" is not one of ${[...TEXT_KINDS].join(", ")}`);
      const vector = await embed(query, ctx.signal);
      const hits = await vectors.search("texts", vector, k, {
        ...(deviceId !== "" ? { deviceId } : {}),
        ...(req.kinds.length > 0 ? { kinds: req.kinds as VectorKind[] } : {}),
      });
      return { hits: hits.map((h) => ({ kind: h.kind, deviceId: h.deviceId, tsMs: BigInt(h.tsMs), text: h.text, distance: h.distance, metric: h.metric })) };
    }),

    async *watchDevice(req, ctx) {
      const id = v.deviceId(req.deviceId);
      if (req.coalesceMs > MAX_COALESCE_MS) throw v.invalid("coalesce_ms", `must be between 0 and ${MAX_COALESCE_MS}`);
      yield* d.watch.watch(id, ctx.signal, req.coalesceMs);
    },

    async *watchFleet(req, ctx) {
      const fleet = need(d.fleet, "the fleet's figures are not computed by this server");
      const top = v.limit(req.top, "top", 10, MAX_FLEET_TOP);
      yield* fleet.watch(top, ctx.signal);
    },
  };
}

function rename(r: { fromMs: number; toMs: number }) {
  return { windowFromMs: r.fromMs, windowToMs: r.toMs };
}

function need<T>(x: T | undefined, reason: string): T {
  if (x === undefined) throw new ConnectError(reason, Code.FailedPrecondition);
  return x;
}

/** Page tokens: the last device id of the page, base64url (opaque to callers). */
export function pageToken(lastId: string): string {
  return Buffer.from(`d:${lastId}`).toString("base64url");
}

function pageAfter(token: string): string {
  if (token === "") return "";
  const s = Buffer.from(token, "base64url").toString();
  if (!s.startsWith("d:")) throw v.invalid("page_token", "not a token this service gave");
  return v.deviceId(s.slice(2), "page_token");
}
