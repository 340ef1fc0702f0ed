import { status as GrpcCode } from "@grpc/grpc-js";
import type { MetricsRegistry } from "../observability/metrics.js";
import { statusOf } from "./error-status.js";
import type { Interceptor } from "./unary-handler.js";

/** Per-method call counts by gRPC code and a latency histogram; labels never carry an id. */
export function metricsInterceptor(metrics: MetricsRegistry): Interceptor {
  const calls = metrics.counter({
    name: "grpc_requests_total",
    help: "CSI calls served, by method and gRPC status code",
    labelNames: ["service", "method", "code"],
  });
  const duration = metrics.histogram({
    name: "grpc_request_duration_seconds",
    help: "Time to answer a CSI call, by method",
    labelNames: ["service", "method"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });
  return async (call, next) => {
    const stop = duration.startTimer({ service: call.service, method: call.method });
    let code = GrpcCode.OK;
    try {
      return await next();
    } catch (err) {
      code = statusOf(err, call.context.requestId).code;
      throw err;
    } finally {
      stop();
      calls.inc({ service: call.service, method: call.method, code: GrpcCode[code] });
    }
  };
}
