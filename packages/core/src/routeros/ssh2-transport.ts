import { setMaxListeners } from "node:events";
import { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Counter, Gauge, Histogram } from "prom-client";
import ssh2 from "ssh2";
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { CsiError, FailedPreconditionError, InternalError, InvalidArgumentError, UnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { MetricsRegistry } from "../observability/metrics.js";
import { Backoff } from "../resilience/backoff.js";
import { BoundedQueue } from "../resilience/bounded-queue.js";
import { untilAborted } from "../resilience/until-aborted.js";
import { createHostKeyVerifier, describeHostKey, type HostKeyPolicy, type HostKeyVerifier } from "./host-key-verifier.js";
import { privateKeyProblem } from "./private-key-check.js";
import type { SshCommandResult, SshConnectionState, SshRunOptions, SshTransport } from "./ssh-transport.js";

/** A private key (ed25519, ECDSA or RSA; OpenSSH or PEM) with its passphrase if encrypted, or a password. */
export type SshAuth =
  | { readonly privateKey: string | Buffer; readonly passphrase?: string }
  | { readonly password: string };

export interface Ssh2TransportOptions {
  readonly host: string;
  readonly port?: number;
  /** May carry RouterOS console options (`admin+ct200w`); passed to the RDS as given. */
  readonly username: string;
  readonly auth: SshAuth;
  readonly hostKey: HostKeyPolicy;
  /** Exec channels open at once; RouterOS limits sessions, so further commands queue for a free one. */
  readonly maxChannels?: number;
  /** TCP connect, SSH handshake and login together. */
  readonly connectTimeoutMs?: number;
  /** A connection that leaves `keepaliveCountMax` keepalives in a row unanswered is declared dead. */
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  /** Bounds of the jittered exponential wait between connection attempts. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Failed connection attempts in a row after which callers fail fast instead of waiting for the connection. */
  readonly failFastAfterAttempts?: number;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
}

export const SSH2_TRANSPORT_DEFAULTS = {
  port: 22,
  maxChannels: 4,
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
  reconnectInitialDelayMs: 1_000,
  reconnectMaxDelayMs: 30_000,
  failFastAfterAttempts: 3,
  // A `/disk print detail` record is under 1 KiB, so thousands of disks fit; beyond this it is runaway output.
  maxOutputBytes: 8 * 1024 * 1024,
} as const;

/** setTimeout silently turns anything above this into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** ssh2 says so when the server answered an exec request with failure, leaving the session channel open. */
const EXEC_REFUSED = "Unable to exec";

type CallPhase = "queued" | "connecting" | "running";

interface LiveConnection {
  readonly client: Client;
  readonly socket: Socket;
  /** The key the RDS presented, as `<type> SHA256:<…>`, for the log. */
  hostKey: string;
  /** Set once the socket closed; a channel that closes after that lost the rest of its reply. */
  lost: boolean;
  readonly closed: Promise<void>;
}

interface Outage {
  readonly since: Date;
  failures: number;
  lastError?: CsiError;
}

interface ConnectionWaiter {
  connected(connection: LiveConnection): void;
  failed(error: CsiError): void;
}

/**
 * The SSH transport to one RDS, on ssh2: one persistent connection, one exec channel per command.
 *
 * One loop (`#maintain`) owns the connection: it connects, waits for the connection to die (close,
 * error, keepalive failure), closes it, and connects again after a jittered exponential wait, for as
 * long as the transport is open. Nothing else connects, so no two reconnect paths can race (the earlier
 * driver's defect); `run` only reads the current connection.
 *
 * The circuit breaker is a few lines of state here rather than cockatiel's: cockatiel's breaker counts
 * failures of the calls it wraps and lets a caller's call through as the half-open probe, but here
 * callers never touch a broken connection; the reconnect loop is the probe. So the circuit opens when
 * the loop's attempts fail (`failFastAfterAttempts` in a row, or a single refused host key or login),
 * closes when an attempt succeeds, and while it is open every call fails at once with the reason.
 */
export class Ssh2Transport implements SshTransport {
  readonly #address: string;
  readonly #host: string;
  readonly #port: number;
  readonly #username: string;
  readonly #auth: SshAuth;
  readonly #verifier: HostKeyVerifier;
  readonly #maxChannels: number;
  readonly #connectTimeoutMs: number;
  readonly #keepaliveIntervalMs: number;
  readonly #keepaliveCountMax: number;
  readonly #maxDelayMs: number;
  readonly #failFastAfterAttempts: number;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  readonly #metrics: TransportMetrics | undefined;
  readonly #slots: BoundedQueue;
  readonly #listeners = new Set<(state: SshConnectionState) => void>();
  readonly #waiters = new Set<ConnectionWaiter>();
  readonly #closing = new AbortController();
  #state: SshConnectionState = "disconnected";
  #loop: Promise<void> | undefined;
  #connection: LiveConnection | undefined;
  #outage: Outage | undefined;
  /** Set while the circuit is open: makes the error every caller gets. */
  #failFast: (() => CsiError) | undefined;

  /** Validates the options (throwing `InvalidArgumentError` naming the option); connects only on start(). */
  constructor(options: Ssh2TransportOptions) {
    const defaults = SSH2_TRANSPORT_DEFAULTS;
    if (options.host.trim() === "") throw new InvalidArgumentError("Ssh2Transport option host must not be empty");
    if (options.username === "") throw new InvalidArgumentError("Ssh2Transport option username must not be empty");
    // Every queued or running command listens for the close (and removes its listener when done), so
    // a burst of concurrent commands is not a leak.
    setMaxListeners(0, this.#closing.signal);
    this.#host = options.host;
    this.#port = integerOption("port", options.port ?? defaults.port, 1, 65_535);
    this.#address = this.#host.includes(":") ? `[${this.#host}]:${this.#port}` : `${this.#host}:${this.#port}`;
    this.#username = options.username;
    this.#auth = checkedAuth(options.auth);
    this.#verifier = createHostKeyVerifier(options.hostKey, { host: this.#host, port: this.#port });
    this.#maxChannels = integerOption("maxChannels", options.maxChannels ?? defaults.maxChannels, 1, 1_000);
    this.#connectTimeoutMs = integerOption("connectTimeoutMs", options.connectTimeoutMs ?? defaults.connectTimeoutMs, 1, MAX_TIMER_MS);
    this.#keepaliveIntervalMs = integerOption(
      "keepaliveIntervalMs",
      options.keepaliveIntervalMs ?? defaults.keepaliveIntervalMs,
      1,
      MAX_TIMER_MS,
    );
    this.#keepaliveCountMax = integerOption("keepaliveCountMax", options.keepaliveCountMax ?? defaults.keepaliveCountMax, 1, 1_000);
    const initialDelayMs = integerOption(
      "reconnect.initialDelayMs",
      options.reconnect?.initialDelayMs ?? defaults.reconnectInitialDelayMs,
      1,
      MAX_TIMER_MS,
    );
    this.#maxDelayMs = integerOption(
      "reconnect.maxDelayMs",
      options.reconnect?.maxDelayMs ?? defaults.reconnectMaxDelayMs,
      initialDelayMs,
      MAX_TIMER_MS,
    );
    this.#failFastAfterAttempts = integerOption(
      "failFastAfterAttempts",
      options.failFastAfterAttempts ?? defaults.failFastAfterAttempts,
      1,
      1_000,
    );
    this.#backoff = new Backoff({ initialDelay: initialDelayMs, maxDelay: this.#maxDelayMs, jitter: "decorrelated" });
    this.#log = options.logger.child({ rds: this.#address });
    this.#metrics = options.metrics && createTransportMetrics(options.metrics);
    this.#slots = new BoundedQueue(this.#maxChannels);
  }

  get state(): SshConnectionState {
    return this.#state;
  }

  onStateChange(listener: (state: SshConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts the connection loop; calls made before the first connection wait for it. Later calls do nothing. */
  start(): void {
    this.#loop ??= this.#maintain();
  }

  async run(command: string, options: SshRunOptions): Promise<SshCommandResult> {
    const { signal, timeoutMs } = options;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
      throw new RangeError(`Ssh2Transport.run: timeoutMs must be in (0, ${MAX_TIMER_MS}], got ${timeoutMs}`);
    }
    if (this.#loop === undefined) throw new Error("Ssh2Transport.run called before start()");
    signal.throwIfAborted();
    if (this.#closing.signal.aborted) throw this.#closedError();
    const failFast = this.#failFast?.();
    if (failFast) throw failFast;
    const maxOutputBytes = options.maxOutputBytes ?? SSH2_TRANSPORT_DEFAULTS.maxOutputBytes;

    // One signal for every reason to give up, so each waiting step and the channel listen to one thing.
    const stop = new AbortController();
    let phase: CallPhase = "queued";
    const timer = setTimeout(() => stop.abort(this.#deadlineError(phase, timeoutMs)), timeoutMs);
    const onAbort = (): void => stop.abort(signal.reason);
    const onClosing = (): void => stop.abort(this.#closedError());
    signal.addEventListener("abort", onAbort, { once: true });
    this.#closing.signal.addEventListener("abort", onClosing, { once: true });
    try {
      const release = await this.#slots.acquire(stop.signal, { urgent: options.urgent === true });
      // The slot is given back when the channel is really closed, not when run() settles: a command
      // abandoned at its deadline still holds a session on the RDS until the close is acknowledged.
      let channelClosed: Promise<void> = Promise.resolve();
      try {
        phase = "connecting";
        const connection = await this.#waitForConnection(stop.signal);
        phase = "running";
        const execution = this.#execute(connection, command, stop.signal, maxOutputBytes);
        channelClosed = execution.closed;
        return await execution.reply;
      } finally {
        void channelClosed.then(release);
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      this.#closing.signal.removeEventListener("abort", onClosing);
    }
  }

  /** Closes the connection and every channel, stops reconnecting; resolves once the socket is closed. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#loop;
  }

  async #maintain(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      const attemptStarted = new Date();
      const reconnecting = this.#outage !== undefined;
      this.#setState("connecting");
      const connection = await this.#connectOnce();
      if (connection instanceof CsiError) {
        if (this.#closing.signal.aborted) break;
        const error = connection;
        if (reconnecting) this.#metrics?.reconnects.inc({ outcome: "failure" });
        this.#recordFailure(error, attemptStarted);
        this.#setState("disconnected");
        const backoffMs = this.#backoff.next();
        // A refused host key or login does not fix itself within seconds, and RouterOS setups commonly
        // block an address after repeated failed logins: such a failure always waits the longest delay.
        const delayMs = error instanceof FailedPreconditionError ? this.#maxDelayMs : backoffMs;
        if (!(await this.#pause(delayMs))) break;
        continue;
      }
      if (this.#outage !== undefined) {
        this.#metrics?.reconnects.inc({ outcome: "success" });
        this.#metrics?.reconnectDuration.observe((Date.now() - this.#outage.since.getTime()) / 1000);
      }
      this.#outage = undefined;
      this.#failFast = undefined;
      this.#backoff.reset();
      this.#connection = connection;
      this.#log.info("connected to RDS", { hostKey: connection.hostKey });
      this.#setState("connected");
      for (const waiter of [...this.#waiters]) waiter.connected(connection);

      await connection.closed;
      this.#connection = undefined;
      if (this.#closing.signal.aborted) break;
      this.#outage = { since: new Date(), failures: 0 };
      this.#log.warn("connection to RDS lost; reconnecting");
      this.#setState("disconnected");
      // Wait before reconnecting even after a loss, so an RDS that accepts logins and then drops
      // them cannot pull this loop into reconnecting as fast as it can.
      this.#backoff.reset();
      if (!(await this.#pause(this.#backoff.next()))) break;
    }
    this.#setState("disconnected");
  }

  /** Resolves with the connection once logged in, or with the classified failure once its socket closed. */
  #connectOnce(): Promise<LiveConnection | CsiError> {
    return new Promise((resolve) => {
      // Our own socket, so teardown can always destroy it: ssh2's destroy() does nothing once end() ran.
      const socket = new Socket();
      // Commands are small request/response exchanges: Nagle's algorithm would hold each packet back
      // until the previous one is acknowledged, adding a delayed-ACK wait to every round trip.
      socket.setNoDelay(true);
      const client = new ssh2.Client();
      let markClosed!: () => void;
      const connection: LiveConnection = {
        client,
        socket,
        hostKey: "",
        lost: false,
        closed: new Promise((r) => (markClosed = r)),
      };
      let ready = false;
      let firstError: Error | undefined;
      let hostKeyRefusal: FailedPreconditionError | undefined;
      // Registered for the whole life of the connection: close() tears down a pending or a live one.
      const onClosing = (): void => teardown(connection);
      this.#closing.signal.addEventListener("abort", onClosing, { once: true });

      client.on("error", (err: Error) => {
        firstError ??= err;
        if (ready) this.#log.warn("SSH connection error", { error: err.message });
        // ssh2 ends the socket on protocol errors but may leave it half-open; make sure "close" follows.
        socket.destroy();
      });
      client.on("close", () => {
        connection.lost = true;
        this.#closing.signal.removeEventListener("abort", onClosing);
        markClosed();
        if (!ready) resolve(hostKeyRefusal ?? this.#connectFailure(firstError));
      });
      client.on("ready", () => {
        ready = true;
        resolve(connection);
      });

      const config: ConnectConfig = {
        sock: socket,
        username: this.#username,
        ...this.#auth,
        readyTimeout: this.#connectTimeoutMs,
        keepaliveInterval: this.#keepaliveIntervalMs,
        keepaliveCountMax: this.#keepaliveCountMax,
        hostVerifier: (key: Buffer): boolean => {
          connection.hostKey = describeHostKey(key);
          if (this.#verifier.insecure) {
            this.#log.warn("host key verification is disabled (hostKey.insecureSkip): accepting any key; use only in a lab", {
              hostKey: connection.hostKey,
            });
          }
          hostKeyRefusal = this.#verifier.check(key);
          return hostKeyRefusal === undefined;
        },
      };
      if (this.#verifier.algorithms) config.algorithms = { serverHostKey: this.#verifier.algorithms };
      socket.connect({ host: this.#host, port: this.#port });
      client.connect(config);
    });
  }

  #connectFailure(err: Error | undefined): CsiError {
    const level = stringField(err, "level");
    const code = stringField(err, "code");
    if (level === "client-authentication") {
      const method = "password" in this.#auth ? "password" : "private key";
      return new FailedPreconditionError(
        `RDS ${this.#address} refused the login of user "${this.#username}" with the configured ${method}; ` +
          `check the SSH credentials and the RouterOS user`,
        { cause: err },
      );
    }
    if (level === "client-timeout") {
      return new UnavailableError(`RDS ${this.#address} unreachable: no SSH login within ${this.#connectTimeoutMs} ms`, {
        cause: err,
      });
    }
    if (code !== undefined) return new UnavailableError(`RDS ${this.#address} unreachable: ${code}`, { cause: err });
    const reason = err?.message ?? "connection closed before the login finished";
    return new UnavailableError(`RDS ${this.#address}: SSH connection failed: ${reason}`, { cause: err });
  }

  #recordFailure(error: CsiError, attemptStarted: Date): void {
    const outage = this.#outage ?? { since: attemptStarted, failures: 0 };
    this.#outage = outage;
    outage.failures += 1;
    outage.lastError = error;
    if (error instanceof FailedPreconditionError) {
      this.#log.error("RDS refused the connection; retrying with the longest delay", { error: error.message });
      this.#openCircuit(() => new FailedPreconditionError(error.message, { cause: error }));
      return;
    }
    this.#log.warn("connection attempt to RDS failed", { error: error.message, failures: outage.failures });
    // Once open, the circuit stays open until a connection succeeds; it just carries the latest reason.
    if (outage.failures < this.#failFastAfterAttempts && this.#failFast === undefined) return;
    this.#openCircuit(
      () =>
        new UnavailableError(
          `circuit open: RDS ${this.#address} down since ${outage.since.toISOString()}, ` +
            `${outage.failures} connection attempts failed (last: ${error.message})`,
          { cause: error },
        ),
    );
  }

  #openCircuit(makeError: () => CsiError): void {
    if (this.#failFast === undefined) this.#log.warn("circuit open: calls fail fast until the RDS is reachable again");
    this.#failFast = makeError;
    for (const waiter of [...this.#waiters]) waiter.failed(makeError());
  }

  #waitForConnection(stop: AbortSignal): Promise<LiveConnection> {
    if (this.#connection) return Promise.resolve(this.#connection);
    return untilAborted<LiveConnection>(stop, (resolve, reject) => {
      const failFast = this.#failFast?.();
      if (failFast) {
        reject(failFast);
        return () => {};
      }
      const waiter: ConnectionWaiter = { connected: resolve, failed: reject };
      this.#waiters.add(waiter);
      return () => this.#waiters.delete(waiter);
    });
  }

  /** Runs one command on its own channel; `closed` settles (never rejects) once the channel is gone. */
  #execute(
    connection: LiveConnection,
    command: string,
    stop: AbortSignal,
    maxOutputBytes: number,
  ): { reply: Promise<SshCommandResult>; closed: Promise<void> } {
    let channelClosed!: () => void;
    const closed = new Promise<void>((resolve) => (channelClosed = resolve));
    const reply = new Promise<SshCommandResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      const onStop = (): void => {
        reject(stop.reason);
        channel?.close();
      };
      stop.addEventListener("abort", onStop, { once: true });
      const lostError = (): UnavailableError =>
        new UnavailableError(
          `RDS ${this.#address}: connection lost before the reply was complete; the command may or may not have run`,
        );
      const refused = (err: Error): void => {
        stop.removeEventListener("abort", onStop);
        channelClosed();
        // The connection died while the channel or the exec request was on its way.
        if (connection.lost) {
          reject(lostError());
          return;
        }
        if (err.message === EXEC_REFUSED) {
          // ssh2 leaves the refused session open on both sides and gives us no handle to close it;
          // dropping the connection is the only way not to leak a RouterOS session per refusal.
          this.#log.warn("RDS refused an exec request; reconnecting to drop the half-open session");
          teardown(connection);
        }
        reject(new UnavailableError(`RDS ${this.#address}: no channel for the command: ${err.message}`, { cause: err }));
      };
      const opened = (err: Error | undefined, stream: ClientChannel): void => {
        if (err) {
          refused(err);
          return;
        }
        channel = stream;
        this.#metrics?.channelsInFlight.inc();
        // The call gave up while the channel was being opened. ssh2 sends the exec request as soon as
        // the channel is open, so the command may run anyway; callers read state back after a timeout.
        if (stop.aborted) stream.close();
        const output = new ReplyBuffer(maxOutputBytes);
        const collect = (chunk: Buffer, into: "stdout" | "stderr"): void => {
          if (output.add(chunk, into)) return;
          reject(new InternalError(`RDS ${this.#address}: reply larger than ${maxOutputBytes} bytes; channel closed`));
          stream.close();
        };
        let exitCode: number | null = null;
        stream.on("data", (chunk: Buffer) => collect(chunk, "stdout"));
        stream.stderr.on("data", (chunk: Buffer) => collect(chunk, "stderr"));
        stream.on("exit", (code: number | null) => {
          exitCode = code;
        });
        stream.on("close", () => {
          stop.removeEventListener("abort", onStop);
          this.#metrics?.channelsInFlight.dec();
          channelClosed();
          if (connection.lost) reject(lostError());
          else resolve(output.result(exitCode));
        });
      };
      try {
        connection.client.exec(command, opened);
      } catch (err) {
        // ssh2 throws an Error ("Not connected") when the socket died a moment before we learnt of it.
        refused(err as Error);
      }
    });
    return { reply, closed };
  }

  #deadlineError(phase: CallPhase, timeoutMs: number): UnavailableError {
    const prefix = `RDS ${this.#address}: command timed out after ${timeoutMs} ms`;
    if (phase === "queued") return new UnavailableError(`${prefix} waiting for a free channel (all ${this.#maxChannels} in use)`);
    if (phase === "running") return new UnavailableError(`${prefix}; channel closed`);
    const last = this.#outage?.lastError;
    return new UnavailableError(
      `${prefix} waiting for the connection (${this.#state}${last ? `; last attempt: ${last.message}` : ""})`,
    );
  }

  #closedError(): UnavailableError {
    return new UnavailableError(`RDS ${this.#address}: SSH transport closed`);
  }

  /** Waits `ms` unless the transport is closed meanwhile; false means closed. */
  async #pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  #setState(state: SshConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#metrics?.connectionUp.set(state === "connected" ? 1 : 0);
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (err) {
        // A broken observer must not stop the connection loop.
        this.#log.error("SSH connection state listener failed", { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

/** Polite SSH disconnect, then the socket is destroyed without waiting for the RDS to agree. */
function teardown(connection: LiveConnection): void {
  connection.client.end();
  connection.socket.destroy();
}

/** stdout and stderr of one command under one cap on their sum. */
class ReplyBuffer {
  readonly #chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  #size = 0;
  #overflowed = false;

  constructor(readonly maxBytes: number) {}

  /** False the first time the reply outgrows the cap; later chunks are dropped without a word. */
  add(chunk: Buffer, into: "stdout" | "stderr"): boolean {
    if (this.#overflowed) return true;
    this.#size += chunk.length;
    if (this.#size > this.maxBytes) {
      this.#overflowed = true;
      return false;
    }
    this.#chunks[into].push(chunk);
    return true;
  }

  result(exitCode: number | null): SshCommandResult {
    // Decoded once at the end, so a UTF-8 character split across two packets stays whole.
    return {
      stdout: Buffer.concat(this.#chunks.stdout).toString("utf8"),
      stderr: Buffer.concat(this.#chunks.stderr).toString("utf8"),
      exitCode,
    };
  }
}

function checkedAuth(auth: SshAuth): SshAuth {
  if ("password" in auth) return { password: auth.password };
  const problem = privateKeyProblem(auth.privateKey, auth.passphrase);
  if (problem !== undefined) throw new InvalidArgumentError(`auth.privateKey cannot be used: ${problem}`);
  return auth.passphrase === undefined ? { privateKey: auth.privateKey } : { privateKey: auth.privateKey, passphrase: auth.passphrase };
}

function integerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Ssh2Transport option ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** ssh2 marks its errors with `level`, Node's socket errors carry `code`. */
function stringField(err: Error | undefined, field: "level" | "code"): string | undefined {
  const value: unknown = err && (err as unknown as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}

interface TransportMetrics {
  readonly connectionUp: Gauge;
  readonly reconnects: Counter<"outcome">;
  readonly reconnectDuration: Histogram;
  readonly channelsInFlight: Gauge;
}

function createTransportMetrics(registry: MetricsRegistry): TransportMetrics {
  const metrics: TransportMetrics = {
    connectionUp: registry.gauge({ name: "routeros_connection_up", help: "1 while the SSH connection to the RDS is up, else 0" }),
    reconnects: registry.counter({
      name: "routeros_reconnects_total",
      help: "Connection attempts to the RDS after a loss or a failed attempt, by outcome (success, failure)",
      labelNames: ["outcome"],
    }),
    reconnectDuration: registry.histogram({
      name: "routeros_reconnect_duration_seconds",
      help: "From losing the connection to the RDS (or failing the first attempt) to being connected again",
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    }),
    channelsInFlight: registry.gauge({ name: "routeros_channels_in_flight", help: "SSH exec channels open to the RDS" }),
  };
  metrics.connectionUp.set(0);
  metrics.channelsInFlight.set(0);
  return metrics;
}
