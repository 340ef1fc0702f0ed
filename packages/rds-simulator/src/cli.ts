#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import winston from "winston";
import { CliUsageError, parseCliArguments, USAGE, type CliArguments } from "./cli-arguments.js";
import { startSimulator } from "./simulator.js";

/**
 * `rds-sim`: runs the simulator until SIGTERM or SIGINT. On start it prints the host key fingerprint
 * and the listening addresses on stdout (one fact per line, for people and for scripts); logs are JSON
 * lines on stderr.
 */
async function main(argv: readonly string[]): Promise<void> {
  let args: CliArguments;
  try {
    args = parseCliArguments(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`rds-sim: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const logger = winston.createLogger({
    level: args.logLevel,
    defaultMeta: { component: "rds-simulator" },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: process.stderr })],
  });
  const authorizedKeys = await Promise.all(args.authorizedKeyFiles.map((file) => readFile(file, "utf8")));
  const simulator = await startSimulator({
    stateDir: args.stateDir,
    port: args.port,
    controlPort: args.controlPort,
    user: args.user,
    password: args.password,
    authorizedKeys: authorizedKeys.length > 0 ? authorizedKeys : undefined,
    poolName: args.poolName,
    poolSize: args.poolSize,
    copyFrom: args.copyFrom,
    diskBusy: args.diskBusy,
    foreignDisks: args.foreignDisks,
    allowHost: args.allowHost,
    detailWrap: args.detailWrap,
    latency: { readMs: args.latencyReadMs, mutateMs: args.latencyMutateMs },
    errorExitStatus: args.errorExitStatus,
    logger,
  });
  process.stdout.write(
    `rds-sim: host key fingerprint ${simulator.hostKeyFingerprint}\n` +
      `rds-sim: ssh listening on 127.0.0.1:${simulator.port}\n` +
      `rds-sim: control API on ${simulator.controlUrl}\n`,
  );
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info("stopping", { signal });
    void simulator.stop().then(() => {
      process.stdout.write("rds-sim: stopped\n");
      logger.end();
    });
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`rds-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
