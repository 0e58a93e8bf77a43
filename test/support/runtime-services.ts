import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import type { RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import type { ServiceUrls } from "./pipeline.js";

/** A suite's real nats-server (JetStream) and ClickHouse, a client connection, and the runtime role it may start. */
export interface RuntimeServices {
  nats: ServiceHandle;
  ch: ServiceHandle;
  nc: NatsConnection;
  /** Service URLs for pipelineConfig/pipelineEnv (no MQTT broker: the runtime role needs none). */
  urls: ServiceUrls;
  /** Set by the suite when it starts one; closed after the suite. */
  rt?: RuntimeRole;
}

/** Start the services before the suite's tests and stop them (runtime role first) after. */
export function useRuntimeServices(): RuntimeServices {
  const s = {} as RuntimeServices;
  beforeAll(async () => {
    [s.nats, s.ch] = await Promise.all([startNats(), startClickHouse()]);
    s.nc = await connect({ servers: s.nats.url });
    s.urls = { nats: s.nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: s.ch.url };
  });
  afterAll(async () => {
    await s.rt?.close();
    await s.nc?.close();
    await Promise.all([s.nats?.cleanup(), s.ch?.cleanup()]);
  });
  return s;
}
