// Test-only: a real ssh2 SSH server on 127.0.0.1 for the transport's tests. Never exported from the
// package and never imported by production code.
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import ssh2 from "ssh2";
import type { AuthContext, Connection, ParsedKey, Server as SshServer, ServerChannel, Session } from "ssh2";

export interface ExecRequest {
  readonly command: string;
  accept(): ServerChannel;
  /** Answers the exec request with failure; the session channel stays open. */
  reject(): void;
}

export type ExecHandler = (request: ExecRequest) => void;

export interface TestSshServerOptions {
  /** Private host keys the server presents (ssh2 picks one per negotiated algorithm). */
  readonly hostKeys: readonly string[];
  readonly username: string;
  /** The accepted password; without it password logins fail. */
  readonly password?: string;
  /** Accepted client keys in OpenSSH public format (`ssh-ed25519 AAAA…`). */
  readonly publicKeys?: readonly string[];
  readonly onExec?: ExecHandler;
  /** 0 or absent: an ephemeral port. A stopped server's port restarts it "on the same address". */
  readonly port?: number;
}

/** Polls until `condition` holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Answers every exec with fixed output and exit code. */
export function reply(stdout: string, options: { stderr?: string; exitCode?: number } = {}): ExecHandler {
  return (request) => {
    const channel = request.accept();
    if (options.stderr !== undefined) channel.stderr.write(options.stderr);
    channel.write(stdout);
    channel.exit(options.exitCode ?? 0);
    channel.end();
  };
}

/** Accepts the exec and never answers: a hung RouterOS command. */
export const hang: ExecHandler = (request) => {
  request.accept();
};

/**
 * Counts what a test must check from the server's side: TCP connections (accepted so far and open now)
 * and session channels (open now, the most at once, closed so far).
 */
export class TestSshServer {
  onExec: ExecHandler;
  /** While true, session channel requests are refused (as a server at its session limit would). */
  refuseSessions = false;
  /** How long the server takes to accept a session channel, as a busy RDS might. */
  sessionDelayMs = 0;
  /** Every exec command received, in order. */
  readonly commands: string[] = [];
  connectionsAccepted = 0;
  maxConcurrentChannels = 0;
  channelsClosed = 0;
  readonly #sockets = new Set<Socket>();
  readonly #sessionsByConnection = new Map<Connection, Set<unknown>>();
  readonly #tcp: NetServer;
  readonly #ssh: SshServer;
  #port = 0;

  private constructor(options: TestSshServerOptions) {
    this.onExec = options.onExec ?? reply("");
    const clientKeys = (options.publicKeys ?? []).map(parsePublicKey);
    this.#ssh = new ssh2.Server({ hostKeys: [...options.hostKeys] }, (connection) => this.#serve(connection, options, clientKeys));
    this.#tcp = createServer((socket) => {
      this.connectionsAccepted += 1;
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      this.#ssh.injectSocket(socket);
    });
  }

  static async start(options: TestSshServerOptions): Promise<TestSshServer> {
    const server = new TestSshServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#tcp.once("error", reject);
      server.#tcp.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const address = server.#tcp.address();
    if (address === null || typeof address === "string") throw new Error("test SSH server: no TCP address");
    server.#port = address.port;
    return server;
  }

  /** The listening port, still readable after stop() so a test can restart a server on it. */
  get port(): number {
    return this.#port;
  }

  get openConnections(): number {
    return this.#sockets.size;
  }

  get openChannels(): number {
    let open = 0;
    for (const sessions of this.#sessionsByConnection.values()) open += sessions.size;
    return open;
  }

  /** Stops listening and kills every connection at once, like an RDS that lost power. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #serve(connection: Connection, options: TestSshServerOptions, clientKeys: readonly ParsedKey[]): void {
    const sessions = new Set<unknown>();
    this.#sessionsByConnection.set(connection, sessions);
    // A client that drops the handshake (refused host key) surfaces here; it is expected.
    connection.on("error", () => {});
    connection.on("close", () => {
      this.channelsClosed += sessions.size;
      this.#sessionsByConnection.delete(connection);
    });
    connection.on("authentication", (context) => authenticate(context, options, clientKeys));
    connection.on("session", (accept, rejectSession) => {
      if (this.refuseSessions) {
        rejectSession();
        return;
      }
      if (this.sessionDelayMs > 0) setTimeout(() => this.#openSession(connection, sessions, accept), this.sessionDelayMs);
      else this.#openSession(connection, sessions, accept);
    });
  }

  #openSession(connection: Connection, sessions: Set<unknown>, accept: () => Session): void {
    // The client may have gone while the session was delayed.
    if (!this.#sessionsByConnection.has(connection)) return;
    const session = accept();
    sessions.add(session);
    this.maxConcurrentChannels = Math.max(this.maxConcurrentChannels, this.openChannels);
    session.on("close", () => {
      if (sessions.delete(session)) this.channelsClosed += 1;
    });
    session.on("exec", (acceptExec, rejectExec, info) => {
      this.commands.push(info.command);
      this.onExec({
        command: info.command,
        accept: () => {
          const channel = acceptExec();
          // Keep the client's (empty) input flowing, or ssh2 never emits the channel's "close".
          channel.resume();
          return channel;
        },
        reject: () => rejectExec(),
      });
    });
  }
}

function authenticate(context: AuthContext, options: TestSshServerOptions, clientKeys: readonly ParsedKey[]): void {
  if (context.username === options.username) {
    if (context.method === "password" && options.password !== undefined && context.password === options.password) {
      context.accept();
      return;
    }
    if (context.method === "publickey") {
      const key = clientKeys.find((candidate) => candidate.getPublicSSH().equals(context.key.data));
      const { signature, blob } = context;
      // Without a signature the client only asks whether this key would be accepted.
      if (key && (signature === undefined || (blob !== undefined && key.verify(blob, signature, context.hashAlgo)))) {
        context.accept();
        return;
      }
    }
  }
  context.reject(["password", "publickey"]);
}

function parsePublicKey(text: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}
