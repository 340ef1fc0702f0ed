import { statusOf } from "./error-status.js";
import { redactForLog } from "./redact.js";
import type { Interceptor } from "./unary-handler.js";
import { status as GrpcCode } from "@grpc/grpc-js";

/**
 * Logs each call's request and outcome with secrets redacted. `quietMethods` (Probe, capability
 * queries that sidecars poll every few seconds) log at debug so they do not drown the rest.
 */
export function loggingInterceptor(quietMethods: ReadonlySet<string>): Interceptor {
  return async (call, next) => {
    const { logger } = call.context;
    const level = quietMethods.has(call.method) ? "debug" : "info";
    // Redacting copies the whole message; skip it for the polled methods when nobody reads debug.
    const verbose = logger.isLevelEnabled(level);
    const started = performance.now();
    if (verbose) logger.log(level, "request", { request: redactForLog(call.request) });
    try {
      const response = await next();
      if (verbose) logger.log(level, "response", {
        code: GrpcCode[GrpcCode.OK],
        duration_ms: Math.round(performance.now() - started),
        response: redactForLog(response),
      });
      return response;
    } catch (err) {
      const status = statusOf(err, call.context.requestId);
      logger.log(status.expected ? "warn" : "error", "error response", {
        code: GrpcCode[status.code],
        duration_ms: Math.round(performance.now() - started),
        message: status.details,
      });
      throw err;
    }
  };
}
