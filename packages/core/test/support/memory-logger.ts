import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/observability/logger.js";

/** A parsed JSON log line, as tests read them back. */
export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** A debug-level logger whose JSON lines tests can read back. Test support only. */
export function memoryLogger(): { logger: Logger; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const lines = (): LogLine[] =>
    chunks.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as LogLine);
  return { logger: createLogger({ level: "debug", component: "test", stream }), lines };
}
