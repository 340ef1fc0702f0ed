import { createServer, type Server as NetServer, type Socket } from "node:net";
import ssh2, { type AuthContext, type ServerChannel } from "ssh2";
import type { Logger } from "winston";
import type { ExecRequest, ExecResult } from "./command-executor.js";
import type { Login } from "./login-name.js";
import type { AuthDecision } from "./ssh-auth.js";

export interface SshServerOptions {
  /** 0: any free port */
  readonly port: number;
  readonly hostKey: string;
  readonly authenticate: (ctx: AuthContext) => AuthDecision;
  readonly execute: (request: ExecRequest) => Promise<ExecResult>;
  readonly logger: Logger;
}

const HOST = "127.0.0.1";

/**
 * The RDS's SSH service: exec requests only (no shell), one command per channel, the answer on
 * stdout followed by the exit status. The TCP listener is ours and sockets are handed to ssh2, so the
 * simulator can cut a connection abruptly (a lost reply, a reboot), stop listening for a while, and
 * serve a new host key to new connections.
 */
export class SshServer {
  readonly #options: SshServerOptions;
  readonly #listener: NetServer;
  readonly #sockets = new Map<string, Socket>();
  #ssh: ssh2.Server;
  #port = 0;
  #reopen: NodeJS.Timeout | undefined;
  #listening = false;

  private constructor(options: SshServerOptions) {
    this.#options = options;
    this.#ssh = this.#createSsh(options.hostKey);
    this.#listener = createServer((socket) => this.#accept(socket));
  }

  static async start(options: SshServerOptions): Promise<SshServer> {
    const server = new SshServer(options);
    await server.#listen(options.port);
    return server;
  }

  get port(): number {
    return this.#port;
  }

  /** New connections are served with this key; open ones keep the key they negotiated. */
  setHostKey(privateKey: string): void {
    this.#ssh = this.#createSsh(privateKey);
  }

  /** Cuts every open connection at the TCP level, with no SSH goodbye. */
  disconnectAll(): void {
    for (const socket of this.#sockets.values()) socket.destroy();
  }

  /** Cuts every connection and refuses new ones (connection refused) for `ms` milliseconds. */
  async refuseConnections(ms: number): Promise<void> {
    clearTimeout(this.#reopen);
    await this.#close();
    this.#reopen = setTimeout(() => {
      this.#listen(this.#port).catch((err: unknown) => this.#options.logger.error("ssh listener did not reopen", { error: err }));
    }, ms);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#reopen);
    await this.#close();
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#listener.once("error", reject);
      this.#listener.listen(port, HOST, () => {
        this.#listener.off("error", reject);
        resolve();
      });
    });
    this.#listening = true;
    const address = this.#listener.address();
    if (address !== null && typeof address === "object") this.#port = address.port;
  }

  async #close(): Promise<void> {
    if (!this.#listening) {
      this.disconnectAll();
      return;
    }
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    this.disconnectAll();
    await closed;
  }

  #accept(socket: Socket): void {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    // Small request/reply exchanges: without this, Nagle plus delayed ACKs add tens of ms to each command.
    socket.setNoDelay(true);
    this.#sockets.set(key, socket);
    socket.once("close", () => {
      if (this.#sockets.get(key) === socket) this.#sockets.delete(key);
    });
    this.#ssh.injectSocket(socket);
  }

  #createSsh(hostKey: string): ssh2.Server {
    const server = new ssh2.Server({ hostKeys: [hostKey] });
    server.on("connection", (client, info) => {
      const socket = this.#sockets.get(`${info.ip}:${info.port}`);
      let login: Login | undefined;
      // A client that vanishes mid-handshake or mid-command is normal for this server's users.
      client.on("error", (err: Error) => this.#options.logger.debug("ssh client error", { error: err.message }));
      client.on("authentication", (ctx) => {
        const decision = this.#options.authenticate(ctx);
        if (decision.kind === "refused") {
          // OpenSSH always opens with method "none" to learn the methods; that refusal is not news.
          if (ctx.method !== "none") this.#options.logger.info("ssh authentication refused", { user: ctx.username, method: ctx.method });
          ctx.reject([...decision.methods]);
          return;
        }
        // Before accept(): ssh2 announces the session from inside it.
        if (decision.kind === "accepted") login = decision.login;
        ctx.accept();
      });
      client.on("ready", () => {
        const user = login!;
        client.on("session", (acceptSession) => {
          acceptSession().on("exec", (acceptExec, _reject, request) => {
            this.#exec(acceptExec(), user, request.command, socket);
          });
        });
      });
    });
    return server;
  }

  #exec(channel: ServerChannel, login: Login, command: string, socket: Socket | undefined): void {
    channel.on("error", (err: Error) => this.#options.logger.debug("ssh channel error", { error: err.message }));
    this.#options
      .execute({ user: login.user, width: login.width, command })
      .then((result) => {
        if (result.dropConnection) {
          socket?.destroy();
          return;
        }
        if (!channel.writable) return;
        channel.write(result.output);
        channel.exit(result.exitStatus);
        channel.end();
      })
      .catch((err: unknown) => {
        this.#options.logger.error("exec failed", { command, error: err });
        socket?.destroy();
      });
  }
}
