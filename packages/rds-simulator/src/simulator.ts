import { randomBytes, randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import winston, { type Logger } from "winston";
import { parseAuthorizedKeys } from "./authorized-keys.js";
import { BackgroundCopies } from "./background-copy.js";
import { BackingFiles } from "./backing-files.js";
import { CommandExecutor } from "./command-executor.js";
import { CommandLog, type CommandLogEntry } from "./command-log.js";
import { CommandScheduler } from "./command-scheduler.js";
import { ControlApi } from "./control-api.js";
import { diskSize } from "./disk-menu.js";
import { DiskTable, type DiskItem } from "./disk-table.js";
import {
  ExportRegistry,
  parseAllowedHosts,
  type ConnectionDropped,
  type ExportWithConnections,
  type NvmeExport,
} from "./export-registry.js";
import { FaultInjector, InvalidFaultError } from "./fault-injector.js";
import { FileTable, type FileEntry } from "./file-table.js";
import { checkHostKey, generateHostKey, hostKeyFingerprint } from "./host-key.js";
import { InvalidStateError, type PersistedState } from "./persisted-state.js";
import { Pool, type PoolIdentity } from "./pool.js";
import type { RdsModel } from "./rds-model.js";
import { applySettingsPatch, DEFAULT_SETTINGS, type SettingsPatch, type SimulatorSettings } from "./settings.js";
import { checkOptions, DEFAULT_POOL_NAME, DEFAULT_POOL_SIZE, type SimulatorOptions } from "./simulator-options.js";
import { decideAuthentication, type Credentials } from "./ssh-auth.js";
import { SshServer } from "./ssh-server.js";
import { StateStore } from "./state-store.js";

/** Commands kept in the command log. */
const COMMAND_LOG_LIMIT = 10000;

/** A file disk as tests see it. */
export interface DiskView {
  readonly slot: string;
  /** RouterOS path (`/raid10/vols/x.img`) */
  readonly filePath: string;
  /** absolute path of the sparse file on this host */
  readonly backingFile: string;
  readonly size: number;
  readonly comment: string;
  readonly nvmeTcpExport: boolean;
  readonly nvmeTcpServerPort: number;
  readonly nvmeTcpServerNqn: string;
  readonly allowedHosts: readonly string[];
}

export interface RestartOptions {
  /** after cutting every connection, refuse SSH and NVMe/TCP connections for this long (ms) */
  readonly refuseConnectionsMs?: number;
}

/**
 * Starts a simulated RDS: loads (or creates) the state in `stateDir`, checks that every file the state
 * lists still has its backing file, then serves SSH and the control API on 127.0.0.1.
 */
export function startSimulator(options: SimulatorOptions): Promise<RdsSimulator> {
  return RdsSimulator.start(options);
}

/** mdadm prints a RAID UUID as four groups of eight hex digits. */
function newRaidUuid(): string {
  return randomBytes(16).toString("hex").match(/.{8}/gu)!.join("-");
}

interface RdsSimulatorParts {
  readonly stateDir: string;
  readonly store: StateStore;
  readonly backing: BackingFiles;
  readonly settings: SimulatorSettings;
  readonly hostKey: string;
  readonly poolIdentity: PoolIdentity;
  readonly disks: DiskTable;
  readonly files: FileTable;
  readonly credentials: Credentials;
  readonly logger: Logger;
  readonly now: () => Date;
}

/**
 * A running simulated RDS. RouterOS commands arrive over SSH; tests, the fake NVMe fabric and the
 * control API use the methods here to inspect it, connect NVMe hosts and inject faults.
 */
export class RdsSimulator {
  /** standing faults for the next commands and connections */
  readonly faults = new FaultInjector();
  readonly stateDir: string;
  readonly #parts: RdsSimulatorParts;
  readonly #model: RdsModel;
  readonly #exports: ExportRegistry;
  readonly #scheduler: CommandScheduler;
  readonly #executor: CommandExecutor;
  readonly #log = new CommandLog(COMMAND_LOG_LIMIT);
  readonly #exportOf = new WeakMap<DiskItem, NvmeExport>();
  readonly #copies: BackgroundCopies;
  #settings: SimulatorSettings;
  #hostKey: string;
  #ssh: SshServer | undefined;
  #control: ControlApi | undefined;
  #availableAgain: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(parts: RdsSimulatorParts) {
    this.#parts = parts;
    this.stateDir = parts.stateDir;
    this.#settings = parts.settings;
    this.#hostKey = parts.hostKey;
    const pool = new Pool({
      identity: parts.poolIdentity,
      files: parts.files,
      isDiskFull: () => this.faults.diskFull,
    });
    this.#model = {
      disks: parts.disks,
      files: parts.files,
      pool,
      backing: parts.backing,
      settings: () => this.#settings,
      copyInBackground: (sourceName, sourceSize, name, finalSize) => this.#copies.start(sourceName, sourceSize, name, finalSize),
      liveSessions: (disk) => (disk.nvmeTcpExport ? this.#exports.connections(disk.nvmeTcpServerNqn === "" ? disk.slot : disk.nvmeTcpServerNqn) : []),
      now: parts.now,
    };
    this.#exports = new ExportRegistry(this.#settings.allowHost);
    this.#exports.update(this.#currentExports());
    this.#scheduler = new CommandScheduler((kind) => {
      const configured = kind === "read" ? this.#settings.latency.readMs : this.#settings.latency.mutateMs;
      return configured + this.faults.extraDelay(kind);
    });
    this.#copies = new BackgroundCopies({
      backing: parts.backing,
      files: parts.files,
      now: parts.now,
      exclusive: (step) =>
        this.#scheduler.exclusive(async () => {
          await step();
          this.#exports.update(this.#currentExports());
          await this.#record();
        }),
    });
    this.#executor = new CommandExecutor({
      model: this.#model,
      faults: this.faults,
      scheduler: this.#scheduler,
      log: this.#log,
      settings: () => this.#settings,
      afterMutation: async () => {
        this.#exports.update(this.#currentExports());
        await this.#record();
      },
      logger: parts.logger,
    });
  }

  static async start(options: SimulatorOptions): Promise<RdsSimulator> {
    const checked = checkOptions(options);
    const authorizedKeys = [options.authorizedKeys ?? []].flat().flatMap((text) => parseAuthorizedKeys(text));
    if (options.hostKey !== undefined) checkHostKey(options.hostKey);
    const store = new StateStore(options.stateDir);
    await mkdir(options.stateDir, { recursive: true });
    const saved = await store.load();
    const backing = new BackingFiles(join(options.stateDir, "files"));
    const poolIdentity: PoolIdentity = {
      name: checked.poolName ?? saved?.pool.name ?? DEFAULT_POOL_NAME,
      size: checked.poolSize ?? saved?.pool.size ?? DEFAULT_POOL_SIZE,
      fsUuid: saved?.pool.fsUuid ?? randomUUID(),
      raidUuid: saved?.pool.raidUuid ?? newRaidUuid(),
    };
    await backing.ensureDirectory(poolIdentity.name);
    for (const entry of saved?.files ?? []) {
      if (entry.type === "directory") await backing.ensureDirectory(entry.name);
      else if (!(await backing.exists(entry.name))) {
        throw new InvalidStateError(`${store.path} lists ${entry.name}, but ${backing.hostPath(entry.name)} is missing`);
      }
    }
    const settings = applySettingsPatch(saved?.settings ?? DEFAULT_SETTINGS, {
      copyFrom: options.copyFrom,
      diskBusy: options.diskBusy,
      foreignDisks: options.foreignDisks,
      allowHost: options.allowHost,
      detailWrap: options.detailWrap,
      errorExitStatus: options.errorExitStatus,
      latency: options.latency,
    });
    const simulator = new RdsSimulator({
      stateDir: options.stateDir,
      store,
      backing,
      settings,
      hostKey: options.hostKey ?? saved?.hostKey ?? generateHostKey(),
      poolIdentity,
      disks: new DiskTable(saved?.disks ?? [], saved?.nextDiskId ?? 1),
      files: new FileTable(saved?.files ?? []),
      credentials: { user: checked.user, password: options.password, authorizedKeys },
      logger: options.logger ?? winston.createLogger({ silent: true }),
      now: options.now ?? (() => new Date()),
    });
    await simulator.#start(checked.port, checked.controlPort);
    return simulator;
  }

  async #start(port: number, controlPort: number): Promise<void> {
    await this.#save();
    this.#ssh = await SshServer.start({
      port,
      hostKey: this.#hostKey,
      authenticate: (ctx) => decideAuthentication(ctx, this.#parts.credentials, this.faults.authFailure),
      execute: (request) => this.#executor.execute(request),
      logger: this.#parts.logger,
    });
    try {
      this.#control = await ControlApi.start(controlPort, this, this.#parts.logger);
    } catch (err) {
      await this.#ssh.stop();
      throw err;
    }
    this.#parts.logger.info("rds simulator started", {
      port: this.port,
      controlUrl: this.controlUrl,
      hostKeyFingerprint: this.hostKeyFingerprint,
      stateDir: this.stateDir,
    });
  }

  /** SSH port on 127.0.0.1 */
  get port(): number {
    return this.#ssh!.port;
  }

  /** `http://127.0.0.1:<port>` of the control API */
  get controlUrl(): string {
    return `http://127.0.0.1:${this.#control!.port}`;
  }

  /** OpenSSH-style `SHA256:...` fingerprint of the current host key */
  get hostKeyFingerprint(): string {
    return hostKeyFingerprint(this.#hostKey);
  }

  get settings(): SimulatorSettings {
    return this.#settings;
  }

  /** Changes settings at run time (persisted). Switching to `enforce-and-drop` drops connections no longer allowed. */
  async updateSettings(patch: SettingsPatch): Promise<SimulatorSettings> {
    this.#settings = applySettingsPatch(this.#settings, patch);
    this.#exports.setMode(this.#settings.allowHost);
    await this.#save();
    return this.#settings;
  }

  commandLog(): readonly CommandLogEntry[] {
    return this.#log.list();
  }

  clearCommandLog(): void {
    this.#log.clear();
  }

  disks(): DiskView[] {
    return this.#model.disks.list().map((disk) => ({
      slot: disk.slot,
      filePath: disk.filePath,
      backingFile: this.#model.backing.hostPath(disk.filePath.slice(1)),
      size: diskSize(this.#model, disk),
      comment: disk.comment,
      nvmeTcpExport: disk.nvmeTcpExport,
      nvmeTcpServerPort: disk.nvmeTcpServerPort,
      nvmeTcpServerNqn: disk.nvmeTcpServerNqn,
      allowedHosts: parseAllowedHosts(disk.nvmeTcpServerAllowHostName),
    }));
  }

  files(): FileEntry[] {
    return this.#model.files.list();
  }

  /** Every NVMe/TCP export with its backing file and the hosts connected now. */
  exports(): ExportWithConnections[] {
    return this.#exports.list();
  }

  /** An NVMe/TCP host connects to an export; throws ExportConnectionRefused when the RDS would refuse. */
  connectHost(nqn: string, hostNqn: string): void {
    this.#exports.connect(nqn, hostNqn);
  }

  disconnectHost(nqn: string, hostNqn: string): void {
    this.#exports.disconnect(nqn, hostNqn);
  }

  connections(nqn: string): string[] {
    return this.#exports.connections(nqn);
  }

  /** Tells `listener` about every NVMe/TCP connection the RDS ends; returns a function that unsubscribes. */
  onConnectionDropped(listener: (event: ConnectionDropped) => void): () => void {
    return this.#exports.onConnectionDropped(listener);
  }

  /** Serves a new host key (persisted) to new SSH connections; returns its fingerprint. */
  async changeHostKey(): Promise<string> {
    this.#hostKey = generateHostKey();
    this.#ssh!.setHostKey(this.#hostKey);
    await this.#save();
    this.#parts.logger.info("host key changed", { hostKeyFingerprint: this.hostKeyFingerprint });
    return this.hostKeyFingerprint;
  }

  /**
   * Like a reboot of the RDS: every SSH connection is cut, every NVMe/TCP connection dropped; disks
   * and files stay. With `refuseConnectionsMs`, new connections of both kinds are refused that long.
   */
  async restart(options: RestartOptions = {}): Promise<void> {
    const refuseMs = options.refuseConnectionsMs ?? 0;
    if (!Number.isInteger(refuseMs) || refuseMs < 0) throw new InvalidFaultError("refuseConnectionsMs must be a whole number >= 0");
    this.#parts.logger.info("restart", { refuseConnectionsMs: refuseMs });
    if (refuseMs > 0) {
      clearTimeout(this.#availableAgain);
      this.#exports.setAvailable(false);
      this.#availableAgain = setTimeout(() => this.#exports.setAvailable(true), refuseMs);
      await this.#ssh!.refuseConnections(refuseMs);
    } else {
      this.#ssh!.disconnectAll();
    }
    this.#exports.dropAll("restart");
  }

  /** Stops serving, waits for a mutation in progress to finish and be saved, drops every connection. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#availableAgain);
    await this.#control?.stop();
    await this.#ssh?.stop();
    await this.#copies.stop();
    await this.#scheduler.idle();
    this.#exports.dropAll("shutdown");
    this.#parts.logger.info("rds simulator stopped");
  }

  /** Runs after every mutation: each disk's export is made once (items are replaced, never changed), so this stays cheap at thousands of disks. */
  #currentExports(): NvmeExport[] {
    const exports: NvmeExport[] = [];
    for (const disk of this.#model.disks.list()) {
      if (!disk.nvmeTcpExport) continue;
      let entry = this.#exportOf.get(disk);
      if (entry === undefined) {
        entry = {
          slot: disk.slot,
          nqn: disk.nvmeTcpServerNqn === "" ? disk.slot : disk.nvmeTcpServerNqn,
          port: disk.nvmeTcpServerPort,
          allowedHosts: parseAllowedHosts(disk.nvmeTcpServerAllowHostName),
          backingFile: this.#model.backing.hostPath(disk.filePath.slice(1)),
        };
        this.#exportOf.set(disk, entry);
      }
      exports.push(entry);
    }
    return exports;
  }

  /** Journals what the last mutating command changed (nothing, for a refused one). */
  #record(): Promise<void> {
    const disks = this.#model.disks.takeChanged();
    const files = this.#model.files.takeChanged();
    if (disks.put.length + disks.removed.length + files.put.length + files.removed.length === 0) return Promise.resolve();
    const change = {
      nextDiskId: this.#model.disks.nextId,
      disks: disks.put,
      removedDisks: disks.removed,
      files: files.put,
      removedFiles: files.removed,
    };
    return this.#parts.store.record(change, () => this.#state());
  }

  #save(): Promise<void> {
    return this.#parts.store.save(this.#state());
  }

  #state(): PersistedState {
    return {
      version: 1,
      hostKey: this.#hostKey,
      pool: this.#model.pool.identity,
      settings: this.#settings,
      nextDiskId: this.#model.disks.nextId,
      disks: this.#model.disks.list(),
      files: this.#model.files.list(),
    };
  }
}
