import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { CounterMetric, HistogramMetric, MetricsRegistry } from "../ports/metrics.js";

/** Seconds buckets of call durations (1 ms to 60 s; streams that run longer land in +Inf). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * RED metrics of the gRPC, gRPC-web and Connect calls a process serves: rate and errors
 * (`shoal_grpc_server_requests_total{service,method,code}`, the gRPC status name: OK,
 * INVALID_ARGUMENT, …) and duration (`shoal_grpc_server_duration_seconds{service,method}`). A
 * streaming call counts when it ends. Shared by every server of the process (one name, one metric).
 */
export interface CallMetrics {
  observe(service: string, method: string, code: string, seconds: number): void;
}

/** CallMetrics on a metrics registry. */
export function createCallMetrics(reg: MetricsRegistry): CallMetrics {
  const requests: CounterMetric = reg.counter("shoal_grpc_server_requests_total", "calls served (gRPC, gRPC-web, Connect), by service, method and status code", ["service", "method", "code"]);
  const duration: HistogramMetric = reg.histogram("shoal_grpc_server_duration_seconds", "time from a call's start to its status, seconds", ["service", "method"], BUCKETS);
  return {
    observe(service, method, code, seconds) {
      requests.inc({ service, method, code });
      duration.observe({ service, method }, seconds);
    },
  };
}

const GRPC_CODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(grpc.status).filter(([, v]) => typeof v === "number").map(([k, v]) => [v as number, k]));

/** The status name of a gRPC code number (Connect's codes are the same numbers). */
export function codeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? String(code);
}

function split(path: string): [string, string] {
  const [service = "", method = ""] = path.replace(/^\//, "").split("/");
  return [service, method];
}

/** A grpc-js server interceptor recording every call's status and duration (`createGrpcServer(options, interceptors)`). */
export function callMetricsInterceptor(m: CallMetrics): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const [service, method] = split(descriptor.path);
    const started = performance.now();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        m.observe(service, method, codeName(status.code ?? grpc.status.UNKNOWN), (performance.now() - started) / 1000);
        next(status);
      },
    });
  };
}

/** The same for Connect / gRPC-web handlers (connect-node's `interceptors`). */
export function connectCallMetrics(m: CallMetrics): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const done = (code: number) => m.observe(req.service.typeName, req.method.name, codeName(code), (performance.now() - started) / 1000);
    let res;
    try {
      res = await next(req);
    } catch (e) {
      done(ConnectError.from(e).code);
      throw e;
    }
    if (!res.stream) {
      done(0); // OK
      return res;
    }
    // A server stream: counted when the iteration ends — normally (OK), with an error (its code),
    // or abandoned by the caller (CANCELLED).
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        let code: number = Code.Canceled;
        try {
          yield* inner;
          code = 0;
        } catch (e) {
          code = ConnectError.from(e).code;
          throw e;
        } finally {
          done(code);
        }
      })(),
    };
  };
}
