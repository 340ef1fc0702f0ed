import { mkdtemp, rm } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, EXIT_BAD_CONFIG, EXIT_START_FAILED, InvalidArgumentError, loadConfig, ProcessExec, renderHelp, VolumeLayout, wantsHelp, type ConfigOf } from "@rds-csi/core";
import { createRdsClient, resolveRdsConnection } from "@rds-csi/core/routeros";
import { DeviceResolver } from "../nvme/device-identity.js";
import { loadHostIdentity } from "../nvme/host-identity.js";
import { NvmeCliInitiator } from "../nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "../nvme/sysfs.js";
import { DirectPatternIo } from "./pattern-io.js";
import { acquireRunLock } from "./run-lock.js";
import { renderJson, renderProgress, renderTable, type SelfCheckTarget } from "./render-report.js";
import { selfcheckSettings, type SelfcheckSettings } from "./selfcheck-settings.js";
import { StorageSelfCheck, type SelfCheckReport } from "./storage-self-check.js";

const PROGRAM = "rds-csi-node selfcheck";
const SUMMARY =
  "Proves on this node, against the real RDS, whether copy-from copies data (snapshot + restore, clone) and whether the export " +
  "allow-list refuses new and drops live NVMe/TCP connections; prints a verdict per capability and the controller settings they call " +
  "for. Makes only scratch objects named pvc-selfcheck-*/snap-selfcheck-* and removes them, also on Ctrl-C. Exit 0: the check ran " +
  "(whatever the verdicts); 1: it could not run; 2: a setting is wrong.";

const TIMEOUTS = { rdsMs: 60_000, attachMs: 60_000, ioMs: 60_000 } as const;

/**
 * `rds-csi-node selfcheck [flags]`: the whole command, from argv to exit code. Output goes to stdout
 * (the report) and stderr (progress, problems, logs), so `--output json` stays parseable.
 */
export async function selfcheckMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const settings = selfcheckSettings();
  if (wantsHelp(argv)) {
    process.stdout.write(renderHelp(PROGRAM, SUMMARY, settings));
    return 0;
  }
  let config: ConfigOf<SelfcheckSettings>;
  let connection: Awaited<ReturnType<typeof resolveRdsConnection>>;
  try {
    config = loadConfig(settings, argv, env);
    connection = await resolveRdsConnection(config);
  } catch (err) {
    process.stderr.write(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
    // Configuration problems (ConfigError is one) name the setting; anything else is a bug.
    if (err instanceof InvalidArgumentError) return EXIT_BAD_CONFIG;
    throw err;
  }
  const nvmeAddress = config.nvmeAddress || config.rdsAddress;
  if (isIP(nvmeAddress) === 0) {
    process.stderr.write(`${PROGRAM}: --nvme-address (env NVME_ADDRESS) is required when --rds-address "${config.rdsAddress}" is a host name\n`);
    return EXIT_BAD_CONFIG;
  }
  const target: SelfCheckTarget = { rdsAddress: config.rdsAddress, rdsSshPort: config.rdsSshPort, basePath: config.basePath };
  let report: SelfCheckReport;
  try {
    report = await runCheck(config, connection, nvmeAddress);
  } catch (err) {
    // Only what runs before the first step can end up here, e.g. an unreadable host identity.
    process.stderr.write(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_START_FAILED;
  }
  process.stdout.write(config.output === "json" ? renderJson(target, report) : renderTable(target, report));
  if (report.verdicts) return 0;
  process.stderr.write(`${PROGRAM}: could not run against the RDS at ${target.rdsAddress}:${target.rdsSshPort}: ${report.problem ?? "unknown reason"}\n`);
  return EXIT_START_FAILED;
}

async function runCheck(config: ConfigOf<SelfcheckSettings>, connection: Awaited<ReturnType<typeof resolveRdsConnection>>, nvmeAddress: string): Promise<SelfCheckReport> {
  // Every step at its deadline, with room: a scratch object (or run lock) older than this belongs to no live run.
  const maxRunMs = 2 * (20 * TIMEOUTS.rdsMs + 3 * config.copyTimeout + 10 * TIMEOUTS.attachMs + 4 * TIMEOUTS.ioMs + config.dropWait);
  const releaseLock = await acquireRunLock(join(config.etcDir, "nvme", "rds-csi-selfcheck.lock"), maxRunMs);
  try {
    return await checkOnce(config, connection, nvmeAddress, maxRunMs);
  } finally {
    await releaseLock();
  }
}

async function checkOnce(config: ConfigOf<SelfcheckSettings>, connection: Awaited<ReturnType<typeof resolveRdsConnection>>, nvmeAddress: string, maxRunMs: number): Promise<SelfCheckReport> {
  const logger = createLogger({ level: config.logLevel, component: "rds-csi-node-selfcheck", stream: process.stderr });
  const layout = new VolumeLayout({ basePath: config.basePath, nqnPrefix: config.nqnPrefix });
  // The check proves the strategy; the client's trust label plays no part in it.
  const { transport, rds } = createRdsClient({ connection, layout, copyStrategy: { name: "disk-copy-from", trust: "unverified" }, logger });
  const stop = new AbortController();
  // First Ctrl-C / SIGTERM: stop the current step and clean up. Second: the operator will not wait.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`${PROGRAM}: ${signal} received; cleaning up (send it again to exit at once)\n`);
    stop.abort(new Error(`${signal} received`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const tempDir = await mkdtemp(join(tmpdir(), "rds-csi-selfcheck-"));
  transport.start();
  try {
    const exec = new ProcessExec();
    const sysfs = new RootedSysfs(config.sysfsRoot);
    const sizeBytes = Number(config.scratchSize);
    const check = new StorageSelfCheck({
      rds,
      initiator: new NvmeCliInitiator({ exec, nvmeCli: config.nvmeCli, sysfs }),
      resolver: new DeviceResolver(sysfs, config.devRoot),
      io: new DirectPatternIo({ exec, tempDir, timeoutMs: TIMEOUTS.ioMs }),
      host: await loadHostIdentity(config.etcDir),
      nvme: { address: nvmeAddress, port: config.nvmePort },
      sizeBytes,
      timeouts: { ...TIMEOUTS, copyMs: config.copyTimeout, dropWaitMs: config.dropWait },
      maxRunMs,
      ...(config.output === "table" ? { onStep: (record) => process.stderr.write(renderProgress(record)) } : {}),
    });
    return await check.run(stop.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await transport.close();
    await rm(tempDir, { recursive: true, force: true });
  }
}
