import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { FABRIC_LAYOUTS, NAMESPACE_ID_MODES, readFabricState } from "./fabric-state.js";
import { AlreadyConnected, ConnectRejected, FakeInitiator, findSubsystemByDevice, NoSuchDevice, type FabricConfig } from "./fake-initiator.js";
import {
  ArgumentError,
  CONNECT_OPTIONS,
  DISCONNECT_OPTIONS,
  LIST_OPTIONS,
  LIST_SUBSYS_OPTIONS,
  parseArguments,
  PLAIN_OPTIONS,
  type OptionSpec,
  type ParsedArguments,
} from "./nvme-arguments.js";
import { BLOCK_DEVICE_MODES } from "./namespace-disks.js";
import { SCAN_WORKER } from "./nvme-shim.js";
import { connectOutput, disconnectOutput, listJson, listSubsysJson, listSubsysText, VERSION_TEXT } from "./nvme-output.js";
import { TargetRefused } from "./simulator-link.js";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment the `nvme` shim reads; FAKE_NVME_HOSTNQN / FAKE_NVME_HOSTID stand in for `/etc/nvme/hostnqn` / `hostid`. */
export const FAKE_NVME_ENV = {
  stateDir: "FAKE_NVME_STATE_DIR",
  sysfsRoot: "FAKE_NVME_SYSFS_ROOT",
  devRoot: "FAKE_NVME_DEV_ROOT",
  simulatorUrl: "FAKE_NVME_SIMULATOR_URL",
  hostNqn: "FAKE_NVME_HOSTNQN",
  hostId: "FAKE_NVME_HOSTID",
  layout: "FAKE_NVME_LAYOUT",
  namespaceIds: "FAKE_NVME_NAMESPACE_IDS",
  targetAddress: "FAKE_NVME_TARGET_ADDRESS",
  scanDelayMs: "FAKE_NVME_SCAN_DELAY_MS",
  ioGate: "FAKE_NVME_IO_GATE",
  blockDevices: "FAKE_NVME_BLOCK_DEVICES",
} as const;

/** nvme-cli 2.x exits 1 on any failure. */
const FAILED = 1;
/** A shim without its configuration: not something nvme-cli does, so a distinct status. */
const MISCONFIGURED = 2;

class Misconfigured extends Error {}

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const failed = (stderr: string, stdout = ""): CommandResult => ({ code: FAILED, stdout, stderr: stderr.endsWith("\n") ? stderr : `${stderr}\n` });

/** Runs one `nvme` invocation against the fake fabric: argv without the program name. */
export async function runNvmeCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "version":
        return ok(VERSION_TEXT);
      case "gen-hostnqn":
        return ok(`nqn.2014-08.org.nvmexpress:uuid:${randomUUID()}\n`);
      case "connect":
        return await connect(parse(rest, CONNECT_OPTIONS), env);
      case "disconnect":
        return await disconnect(parse(rest, DISCONNECT_OPTIONS), env);
      case "disconnect-all": {
        parse(rest, PLAIN_OPTIONS);
        await new FakeInitiator(config(env, false)).disconnectAll();
        return ok();
      }
      case "list-subsys":
        return await listSubsys(parse(rest, LIST_SUBSYS_OPTIONS), env);
      case "list":
        return await list(parse(rest, LIST_OPTIONS), env);
      case "ns-rescan":
        return await nsRescan(parse(rest, PLAIN_OPTIONS), env);
      default:
        return failed(`fake nvme: unsupported command '${command ?? ""}' (supported: version, gen-hostnqn, connect, disconnect, disconnect-all, list-subsys, list, ns-rescan)`);
    }
  } catch (err) {
    if (err instanceof ArgumentError) return failed(`nvme: ${err.message}`);
    if (err instanceof Misconfigured) return { code: MISCONFIGURED, stdout: "", stderr: `${err.message}\n` };
    return failed(`fake nvme: ${(err as Error).message}`);
  }
}

function parse(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArguments {
  return parseArguments(argv, specs);
}

export function config(env: NodeJS.ProcessEnv, needsSimulator: boolean): FabricConfig {
  const read = (name: string, required: boolean): string => {
    const value = env[name];
    if (required && (value === undefined || value === "")) throw new Misconfigured(`fake nvme: environment variable ${name} is not set`);
    return value ?? "";
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T => {
    const value = read(name, false) || allowed[0]!;
    if (!(allowed as readonly string[]).includes(value)) throw new Misconfigured(`fake nvme: ${name} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
    return value as T;
  };
  const simulatorUrl = read(FAKE_NVME_ENV.simulatorUrl, needsSimulator);
  return {
    stateDir: read(FAKE_NVME_ENV.stateDir, true),
    sysfsRoot: read(FAKE_NVME_ENV.sysfsRoot, true),
    devRoot: read(FAKE_NVME_ENV.devRoot, true),
    simulatorUrl,
    layout: oneOf(FAKE_NVME_ENV.layout, FABRIC_LAYOUTS),
    namespaceIds: oneOf(FAKE_NVME_ENV.namespaceIds, NAMESPACE_ID_MODES),
    targetAddress: read(FAKE_NVME_ENV.targetAddress, false) || (simulatorUrl === "" ? "" : new URL(simulatorUrl).hostname),
    ioGate: read(FAKE_NVME_ENV.ioGate, false) || undefined,
    blockDevices: oneOf(FAKE_NVME_ENV.blockDevices, BLOCK_DEVICE_MODES),
  };
}

/**
 * Starts the namespace scan of `nqn` in a detached process (the kernel's scan work runs after the
 * connect returned; udev makes the node later still) and returns its pid.
 */
function startScanWorker(nqn: string, env: NodeJS.ProcessEnv): number {
  const worker = spawn(process.execPath, [SCAN_WORKER, nqn], { detached: true, stdio: "ignore", env });
  worker.unref();
  if (worker.pid === undefined) throw new Error("fake nvme: could not start the namespace scan");
  return worker.pid;
}

function isJson(args: ParsedArguments): boolean {
  const format = args.options.get("output-format");
  if (format === undefined || format === "normal") return false;
  if (format === "json") return true;
  throw new ArgumentError(`Invalid output format: ${String(format)}`);
}

function text(args: ParsedArguments, name: string): string | undefined {
  const value = args.options.get(name);
  return typeof value === "string" ? value : undefined;
}

function integer(args: ParsedArguments, name: string): number | undefined {
  const value = text(args, name);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new ArgumentError(`Expected integer argument for '${name}' but got '${value}'!`);
  return Number(value);
}

/** The kernel and nvme-cli need the fabrics topology classes (modules loaded); without them topology scans fail. */
async function requireTopology(cfg: FabricConfig): Promise<CommandResult | undefined> {
  try {
    await access(join(cfg.sysfsRoot, "class/nvme-subsystem"));
    return undefined;
  } catch {
    return failed("Failed to scan topology: No such file or directory");
  }
}

async function connect(args: ParsedArguments, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const json = isJson(args);
  const nqn = text(args, "nqn");
  const transport = text(args, "transport");
  const traddr = text(args, "traddr");
  if (nqn === undefined) return failed("required argument [--nqn | -n] not specified");
  if (transport === undefined) return failed("required argument [--transport | -t] not specified");
  if (traddr === undefined) return failed(`required argument [--traddr | -a] not specified for transport ${transport}`);
  if (transport !== "tcp") return failed(`could not add new controller: fake nvme supports transport tcp only, not ${transport}`);
  const hostNqn = text(args, "hostnqn") ?? env[FAKE_NVME_ENV.hostNqn];
  if (hostNqn === undefined || hostNqn === "") return failed("hostnqn is not available -- use nvme gen-hostnqn");
  const cfg = config(env, true);
  const initiator = new FakeInitiator(cfg);
  try {
    const controller = await initiator.connect(
      {
      nqn,
      traddr,
      trsvcid: text(args, "trsvcid") ?? "4420",
      hostNqn,
      // nvme-cli reads /etc/nvme/hostid when -I is absent; without one the kernel uses its default host ID.
      hostId: text(args, "hostid") ?? (env[FAKE_NVME_ENV.hostId] || undefined),
      ctrlLossTmo: integer(args, "ctrl-loss-tmo"),
      reconnectDelay: integer(args, "reconnect-delay"),
      keepAliveTmo: integer(args, "keep-alive-tmo"),
      duplicateConnect: args.options.get("duplicate-connect") === true,
      },
      { scanLater: () => startScanWorker(nqn, env) },
    );
    return ok(connectOutput(controller, json));
  } catch (err) {
    if (err instanceof AlreadyConnected) return failed("already connected");
    // The kernel's fabrics write fails whatever the target said (refused host, unknown NQN, no listener).
    if (err instanceof TargetRefused || err instanceof ConnectRejected) return failed("could not add new controller: failed to write to nvme-fabrics device");
    throw err;
  }
}

async function disconnect(args: ParsedArguments, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const nqn = text(args, "nqn");
  const device = text(args, "device");
  if (nqn === undefined && device === undefined) return failed("Neither device name [--device | -d] nor NQN [--nqn | -n] provided");
  const cfg = config(env, false);
  const initiator = new FakeInitiator(cfg);
  if (nqn !== undefined) {
    let out = "";
    for (const one of nqn.split(",")) out += disconnectOutput(one, await initiator.disconnectNqn(one));
    return ok(out);
  }
  for (const one of device!.split(",")) {
    const name = one.slice(one.lastIndexOf("/") + 1);
    try {
      await initiator.disconnectController(name);
    } catch (err) {
      if (err instanceof NoSuchDevice) return failed(`Did not find device ${name}`);
      throw err;
    }
  }
  return ok();
}

async function listSubsys(args: ParsedArguments, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const json = isJson(args);
  const cfg = config(env, false);
  const missing = await requireTopology(cfg);
  if (missing !== undefined) return missing;
  const state = await readFabricState(cfg.stateDir);
  const device = args.positionals[0];
  let only;
  if (device !== undefined) {
    only = findSubsystemByDevice(state, device.slice(device.lastIndexOf("/") + 1));
    if (only === undefined) return failed(`${device} is not a NVMe namespace device`);
  }
  return ok(json ? listSubsysJson(state, only) : listSubsysText(state, only));
}

async function list(args: ParsedArguments, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  if (!isJson(args)) return failed("fake nvme: only `nvme list -o json` is supported");
  const cfg = config(env, false);
  const missing = await requireTopology(cfg);
  if (missing !== undefined) return missing;
  return ok(listJson(await readFabricState(cfg.stateDir), cfg.devRoot));
}

async function nsRescan(args: ParsedArguments, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  const device = args.positionals[0];
  if (device === undefined) return failed("Usage: nvme ns-rescan <device> [OPTIONS]");
  try {
    await new FakeInitiator(config(env, false)).rescan(device);
    return ok();
  } catch (err) {
    if (err instanceof NoSuchDevice) return failed(err.message);
    throw err;
  }
}
