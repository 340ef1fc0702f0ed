import { Writable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { createLogger, LOG_LEVELS } from "./logger.js";

function capture(): { stream: Writable; lines: () => Promise<Record<string, unknown>[]> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const lines = async () => {
    // winston hands lines to the transport through a stream pipe; let it drain before reading.
    await new Promise((resolve) => setImmediate(resolve));
    return chunks.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  return { stream, lines };
}

describe("createLogger", () => {
  it("writes one JSON object per line with timestamp, level, message, component and metadata", async () => {
    const { stream, lines } = capture();
    createLogger({ level: "info", component: "csi-node", stream }).info("volume staged", { volume_id: "pvc-1" });
    const [line, ...rest] = await lines();
    expect(rest).toEqual([]);
    expect(line).toEqual({
      timestamp: expect.any(String),
      level: "info",
      message: "volume staged",
      component: "csi-node",
      volume_id: "pvc-1",
    });
    expect(Number.isNaN(Date.parse(line?.["timestamp"] as string))).toBe(false);
  });

  it("drops lines below the configured level", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: "warn", component: "c", stream });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect((await lines()).map((line) => line["level"])).toEqual(["warn", "error"]);
  });

  it("accepts every documented level", () => {
    for (const level of LOG_LEVELS) {
      expect(createLogger({ level, component: "c", stream: capture().stream }).level).toBe(level);
    }
  });

  it("adds a child's fields to every line it writes, keeping the component", async () => {
    const { stream, lines } = capture();
    const child = createLogger({ level: "debug", component: "csi-controller", stream }).child({
      method: "CreateVolume",
      request_id: "r-1",
    });
    child.debug("request");
    expect(await lines()).toEqual([
      expect.objectContaining({ component: "csi-controller", method: "CreateVolume", request_id: "r-1", message: "request" }),
    ]);
  });

  it("writes an Error in the metadata as name, message and stack instead of {}", async () => {
    const { stream, lines } = capture();
    createLogger({ level: "info", component: "c", stream }).error("ssh failed", { error: new TypeError("boom") });
    const [line] = await lines();
    expect(line?.["error"]).toEqual({ name: "TypeError", message: "boom", stack: expect.stringContaining("TypeError: boom") });
  });

  it("writes to stdout when no stream is given", () => {
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write;
    try {
      createLogger({ level: "info", component: "csi-node" }).info("to stdout");
    } finally {
      process.stdout.write = write;
    }
    expect(written.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ component: "csi-node", message: "to stdout" }),
    ]);
  });

  it("refuses an unknown level with an InvalidArgumentError naming it", () => {
    expect(() => createLogger({ level: "verbose", component: "c" })).toThrow(InvalidArgumentError);
    expect(() => createLogger({ level: "verbose", component: "c" })).toThrow(
      'log level "verbose" is not one of error, warn, info, debug',
    );
  });
});
