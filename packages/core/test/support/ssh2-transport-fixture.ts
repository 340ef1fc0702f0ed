import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { hostKeyFingerprint } from "../../src/routeros/host-key-verifier.js";
import { Ssh2Transport, type Ssh2TransportOptions } from "../../src/routeros/ssh2-transport.js";
import type { SshCommandResult } from "../../src/routeros/ssh-transport.js";
import { memoryLogger } from "./memory-logger.js";
import { TestSshServer, type TestSshServerOptions } from "./test-ssh-server.js";

/** The login the transport tests use, with keys made once per test file. */
export const SSH_USER = "admin";
export const hostKey = generateEd25519KeyPair();
export const clientKey = generateEd25519KeyPair();

/** The base64 body of an OpenSSH public key (`ssh-ed25519 AAAA…`). */
export function publicBase64(publicKey: string): string {
  return publicKey.split(" ")[1] ?? "";
}

export function fingerprintOf(publicKey: string): string {
  return hostKeyFingerprint(Buffer.from(publicBase64(publicKey), "base64"));
}

export const hostFingerprint = fingerprintOf(hostKey.public);

/** Generous: only the tests about deadlines rely on one passing. */
export const COMMAND_TIMEOUT_MS = 20_000;

/**
 * Test SSH servers that accept `clientKey` as SSH_USER, and Ssh2Transports that trust `hostKey` and
 * reconnect fast; `stop()` (in afterEach) closes every transport, then every server, started since.
 */
export class Ssh2TransportFixture {
  readonly #servers: TestSshServer[] = [];
  readonly #transports: Ssh2Transport[] = [];

  async startServer(overrides: Partial<TestSshServerOptions> = {}): Promise<TestSshServer> {
    const server = await TestSshServer.start({ hostKeys: [hostKey.private], username: SSH_USER, publicKeys: [clientKey.public], ...overrides });
    this.#servers.push(server);
    return server;
  }

  /** A started transport to 127.0.0.1:`port`. */
  startTransport(port: number, overrides: Partial<Ssh2TransportOptions> = {}): Ssh2Transport {
    const transport = this.createTransport(port, overrides);
    transport.start();
    return transport;
  }

  /** A transport to 127.0.0.1:`port`, not started yet (for a test that watches it from the start). */
  createTransport(port: number, overrides: Partial<Ssh2TransportOptions> = {}): Ssh2Transport {
    const transport = new Ssh2Transport({
      host: "127.0.0.1",
      port,
      username: SSH_USER,
      auth: { privateKey: clientKey.private },
      hostKey: { fingerprint: hostFingerprint },
      connectTimeoutMs: 5_000,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      logger: memoryLogger().logger,
      ...overrides,
    });
    this.#transports.push(transport);
    return transport;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#transports.splice(0).map((transport) => transport.close()));
    await Promise.all(this.#servers.splice(0).map((server) => server.stop()));
  }
}

/** One command with the generous default deadline and a signal of its own unless given. */
export function run(
  transport: Ssh2Transport,
  command: string,
  options: { timeoutMs?: number; signal?: AbortSignal; maxOutputBytes?: number } = {},
): Promise<SshCommandResult> {
  return transport.run(command, {
    signal: options.signal ?? new AbortController().signal,
    timeoutMs: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
    ...(options.maxOutputBytes !== undefined && { maxOutputBytes: options.maxOutputBytes }),
  });
}

/** The error `promise` rejects with; fails the test when it resolves or rejects with a non-Error. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error("expected a rejection");
}
