import ssh2 from "ssh2";

export interface ExecOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** exit status; undefined when the server sent none */
  readonly code: number | undefined;
}

export interface SshConnectOptions {
  readonly port: number;
  readonly username: string;
  readonly privateKey?: string;
  readonly password?: string;
  /** called with the host key blob the server presented */
  readonly onHostKey?: (key: Buffer) => void;
}

/** One SSH connection of a test, running one command per exec channel like the driver does. */
export interface SshSession {
  exec(command: string): Promise<ExecOutput>;
  /** settles when the connection closes, for whatever reason */
  readonly closed: Promise<void>;
  close(): void;
}

/** Connects with ssh2's client (the library the driver's transport uses). Rejects when authentication fails. */
export function connectSsh(options: SshConnectOptions): Promise<SshSession> {
  const client = new ssh2.Client();
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  // A server that refuses or cuts the connection is part of what the tests provoke, and ssh2 may report
  // a reset after the first error; the promises below carry what matters.
  client.on("error", () => undefined);
  return new Promise<SshSession>((resolve, reject) => {
    client.once("error", reject);
    client.once("ready", () => {
      client.off("error", reject);
      resolve({
        exec: (command) => exec(client, command),
        closed,
        close: () => client.end(),
      });
    });
    client.connect({
      host: "127.0.0.1",
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      password: options.password,
      readyTimeout: 5000,
      hostVerifier: (key: Buffer) => {
        options.onHostKey?.(key);
        return true;
      },
    });
    // Without it, Nagle plus delayed ACKs add tens of milliseconds to every exchange.
    client.setNoDelay(true);
  });
}

function exec(client: ssh2.Client, command: string): Promise<ExecOutput> {
  return new Promise<ExecOutput>((resolve, reject) => {
    const lost = (): void => reject(new Error("connection closed before the command finished"));
    client.once("close", lost);
    client.exec(command, (err, channel) => {
      if (err) {
        client.off("close", lost);
        reject(err);
        return;
      }
      let stdout = "";
      let stderr = "";
      let code: number | undefined;
      channel.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      channel.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      channel.on("exit", (status: number | null) => (code = status ?? undefined));
      channel.on("close", () => {
        client.off("close", lost);
        resolve({ stdout, stderr, code });
      });
    });
  });
}
