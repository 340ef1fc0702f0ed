/** Where the one connection to an RDS stands; Probe and the connection metrics read it. */
export type SshConnectionState = "connecting" | "connected" | "disconnected";

export interface SshRunOptions {
  /** Caller cancellation: the command's channel is closed and run() rejects with `signal.reason`, untouched. */
  readonly signal: AbortSignal;
  /**
   * The whole budget of the call: waiting for a free channel and for the connection counts against it,
   * not only the command itself. When it passes the channel is closed and run() rejects with `UnavailableError`.
   * A command given up on (deadline, abort, lost connection) may still have run on the RDS: read state back.
   */
  readonly timeoutMs: number;
  /** Cap on stdout + stderr together; a larger reply closes the channel and rejects with `InternalError`. */
  readonly maxOutputBytes?: number;
  /**
   * Waits for a free channel ahead of every command that is not urgent. The RouterOS client marks so
   * what feeds the RDS's one-at-a-time queue (its mutations, and the free-space read they wait for): queued
   * behind a burst of look-ups, they left the RDS idle (about 250 ms for 100 CreateVolume calls at once).
   */
  readonly urgent?: boolean;
}

export interface SshCommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** RouterOS's exit status says nothing about success; null when the server sent none. */
  readonly exitCode: number | null;
}

/**
 * Runs RouterOS commands on one RDS over SSH. It reports transport outcomes only: a command that ran
 * resolves with its output whatever that output says (RouterOS errors are text, classified by
 * `classify-error.ts`); connection and channel failures, deadlines and an open circuit reject with
 * `UnavailableError`, a refused host key or login with `FailedPreconditionError`, a reply over the cap
 * with `InternalError`, and a caller's abort with the signal's own reason.
 */
export interface SshTransport {
  run(command: string, options: SshRunOptions): Promise<SshCommandResult>;
  readonly state: SshConnectionState;
  /** Calls `listener` on every change of `state`; returns a function that unsubscribes. */
  onStateChange(listener: (state: SshConnectionState) => void): () => void;
  /** Ends the connection, every channel and timer; pending and later calls reject with `UnavailableError`. */
  close(): Promise<void>;
}
