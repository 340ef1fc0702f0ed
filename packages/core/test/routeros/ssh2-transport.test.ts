import { createHmac, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import ssh2 from "ssh2";
import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { FailedPreconditionError, InternalError, InvalidArgumentError, UnavailableError } from "../../src/errors.js";
import { memoryLogger, type LogLine } from "../support/memory-logger.js";
import { Ssh2Transport, type Ssh2TransportOptions } from "../../src/routeros/ssh2-transport.js";
import { clientKey, fingerprintOf, hostFingerprint, hostKey, publicBase64, rejectionOf, run, SSH_USER, Ssh2TransportFixture } from "../support/ssh2-transport-fixture.js";
import { hang, reply, waitUntil, type TestSshServer } from "../support/test-ssh-server.js";

const fixture = new Ssh2TransportFixture();
const startServer = fixture.startServer.bind(fixture);
const startTransport = (server: TestSshServer, overrides: Partial<Ssh2TransportOptions> = {}): Ssh2Transport => fixture.startTransport(server.port, overrides);

afterEach(() => fixture.stop());

describe("Ssh2Transport commands", () => {
  it("runs a command on its own channel and returns stdout, stderr and the exit code", async () => {
    const server = await startServer({
      onExec: (request) => reply(`ran: ${request.command}\n`, { stderr: "note\n", exitCode: 3 })(request),
    });
    const transport = startTransport(server);
    const states: string[] = [];
    transport.onStateChange((state) => states.push(state));

    const result = await run(transport, '/disk print detail where slot="pvc-1"');
    expect(result).toEqual({ stdout: 'ran: /disk print detail where slot="pvc-1"\n', stderr: "note\n", exitCode: 3 });
    expect(transport.state).toBe("connected");
    expect(states).toEqual(["connected"]);
    await waitUntil("the channel to close", () => server.channelsClosed === 1 && server.openChannels === 0);
  });

  it("keeps a UTF-8 character whole when it is split across packets, and reports a missing exit status as null", async () => {
    const server = await startServer({
      onExec: (request) => {
        const channel = request.accept();
        const text = Buffer.from("größe=1 ✓", "utf8");
        channel.write(text.subarray(0, 4));
        setTimeout(() => {
          channel.write(text.subarray(4));
          channel.end();
        }, 20);
      },
    });
    const transport = startTransport(server);
    expect(await run(transport, "/file print")).toEqual({ stdout: "größe=1 ✓", stderr: "", exitCode: null });
  });

  it("runs commands over one connection, never more than maxChannels at once, queueing the rest", async () => {
    const server = await startServer({
      onExec: (request) => {
        setTimeout(() => reply(request.command)(request), 50);
      },
    });
    const transport = startTransport(server, { maxChannels: 2 });
    const commands = ["a", "b", "c", "d", "e", "f"];
    const results = await Promise.all(commands.map((command) => run(transport, command)));
    expect(results.map((result) => result.stdout)).toEqual(commands);
    expect(server.maxConcurrentChannels).toBe(2);
    expect(server.connectionsAccepted).toBe(1);
  });

  it("counts the wait for a free channel against the deadline", async () => {
    const server = await startServer({ onExec: hang });
    const transport = startTransport(server, { maxChannels: 1 });
    const first = new AbortController();
    const holding = run(transport, "/disk print", { signal: first.signal });
    await waitUntil("the first channel", () => server.openChannels === 1);

    const queued = await rejectionOf(run(transport, "/file print", { timeoutMs: 200 }));
    expect(queued).toBeInstanceOf(UnavailableError);
    expect(queued.message).toBe(
      `RDS 127.0.0.1:${server.port}: command timed out after 200 ms waiting for a free channel (all 1 in use)`,
    );
    first.abort(new Error("done"));
    await expect(holding).rejects.toThrow("done");
  });

  it("closes the channel when the deadline passes, rejects with UnavailableError and keeps the connection", async () => {
    const server = await startServer({ onExec: hang });
    const transport = startTransport(server);
    const error = await rejectionOf(run(transport, "/disk add", { timeoutMs: 200 }));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(`RDS 127.0.0.1:${server.port}: command timed out after 200 ms; channel closed`);
    await waitUntil("the channel to close", () => server.channelsClosed === 1 && server.openChannels === 0);

    server.onExec = reply("ok");
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
    expect(server.connectionsAccepted).toBe(1);
  });

  it("closes at once a channel that the RDS opens only after the deadline passed", async () => {
    const server = await startServer();
    const transport = startTransport(server);
    await run(transport, "/disk print");
    server.sessionDelayMs = 300;
    const error = await rejectionOf(run(transport, "/disk print", { timeoutMs: 100 }));
    expect(error.message).toBe(`RDS 127.0.0.1:${server.port}: command timed out after 100 ms; channel closed`);
    await waitUntil("the late channel to open and close", () => server.channelsClosed === 2 && server.openChannels === 0);
  });

  it("rejects with the caller's abort reason untouched and closes the channel", async () => {
    const server = await startServer({ onExec: hang });
    const transport = startTransport(server);
    const controller = new AbortController();
    const reason = { why: "the CSI call was cancelled" };
    const running = run(transport, "/disk print", { signal: controller.signal });
    await waitUntil("the channel", () => server.openChannels === 1);
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await waitUntil("the channel to close", () => server.openChannels === 0 && server.channelsClosed === 1);

    // An already aborted signal opens nothing.
    await expect(run(transport, "/disk print", { signal: controller.signal })).rejects.toBe(reason);
    expect(server.channelsClosed).toBe(1);
  });

  it("rejects a reply over the cap on stdout and stderr together with InternalError and closes the channel", async () => {
    const server = await startServer({ onExec: reply("x".repeat(600), { stderr: "y".repeat(600) }) });
    const transport = startTransport(server);
    const error = await rejectionOf(run(transport, "/disk print", { maxOutputBytes: 1_000 }));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.message).toBe(`RDS 127.0.0.1:${server.port}: reply larger than 1000 bytes; channel closed`);
    await waitUntil("the channel to close", () => server.openChannels === 0);
    expect((await run(transport, "/disk print", { maxOutputBytes: 1_200 })).stdout).toHaveLength(600);
  });

  it("rejects with UnavailableError when the RDS refuses a channel, keeping the connection", async () => {
    const server = await startServer();
    const transport = startTransport(server);
    await run(transport, "/disk print");
    server.refuseSessions = true;
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toMatch(/^RDS 127\.0\.0\.1:\d+: no channel for the command: \(SSH\) Channel open failure/);
    server.refuseSessions = false;
    await run(transport, "/disk print");
    expect(server.connectionsAccepted).toBe(1);
  });

  it("reconnects when the RDS refuses an exec request, so the half-open session is not leaked", async () => {
    const server = await startServer({ onExec: (request) => request.reject() });
    const transport = startTransport(server);
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(`RDS 127.0.0.1:${server.port}: no channel for the command: Unable to exec`);
    await waitUntil("the refused session to go", () => server.openChannels === 0);

    server.onExec = reply("ok");
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
    expect(server.connectionsAccepted).toBe(2);
    await waitUntil("the old connection to close", () => server.openConnections === 1);
  });
});

describe("Ssh2Transport host key verification", () => {
  function knownHostsName(port: number): string {
    return `[127.0.0.1]:${port}`;
  }

  it("accepts a plain [host]:port known_hosts entry", async () => {
    const server = await startServer();
    const knownHosts = `${knownHostsName(server.port)} ssh-ed25519 ${publicBase64(hostKey.public)}\n`;
    const transport = startTransport(server, { hostKey: { knownHosts } });
    await run(transport, "/disk print");
  });

  it("accepts a hashed known_hosts entry", async () => {
    const server = await startServer();
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update(knownHostsName(server.port)).digest();
    const knownHosts = `|1|${salt.toString("base64")}|${hash.toString("base64")} ssh-ed25519 ${publicBase64(hostKey.public)}`;
    const transport = startTransport(server, { hostKey: { knownHosts } });
    await run(transport, "/disk print");
  });

  it("negotiates the key type known_hosts holds when the RDS has several host keys", async () => {
    const rsaHostKey = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 });
    const server = await startServer({ hostKeys: [hostKey.private, rsaHostKey.private] });
    const knownHosts = `${knownHostsName(server.port)} ssh-rsa ${publicBase64(rsaHostKey.public)}`;
    const transport = startTransport(server, { hostKey: { knownHosts } });
    await run(transport, "/disk print");
  });

  it("refuses a changed key with FailedPreconditionError showing the expected and presented fingerprints", async () => {
    const server = await startServer();
    const oldKey = generateEd25519KeyPair();
    const knownHosts = `${knownHostsName(server.port)} ssh-ed25519 ${publicBase64(oldKey.public)}`;
    const transport = startTransport(server, { hostKey: { knownHosts } });
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    const oldFingerprint = fingerprintOf(oldKey.public);
    expect(error.message).toContain(`expected ssh-ed25519 ${oldFingerprint}, presented ssh-ed25519 ${hostFingerprint}`);
    expect(transport.state).not.toBe("connected");
  });

  it("refuses a key that does not match the pinned fingerprint, and every later caller fails fast with the same message", async () => {
    const server = await startServer();
    const wrong = fingerprintOf(clientKey.public);
    const { logger, lines } = memoryLogger();
    const transport = startTransport(server, { hostKey: { fingerprint: wrong }, logger });
    const first = await rejectionOf(run(transport, "/disk print"));
    expect(first).toBeInstanceOf(FailedPreconditionError);
    expect(first.message).toBe(
      `host key of RDS 127.0.0.1:${server.port} does not match the pinned fingerprint: expected ${wrong}, ` +
        `presented ssh-ed25519 ${hostFingerprint}; if the RDS host key was replaced on purpose, update hostKey.fingerprint`,
    );
    const second = await rejectionOf(run(transport, "/disk print"));
    expect(second).toBeInstanceOf(FailedPreconditionError);
    expect(second.message).toBe(first.message);
    expect(lines().some((line) => line.level === "error" && line.message.startsWith("RDS refused the connection"))).toBe(true);
  });

  it("accepts any key with insecureSkip and warns on every connect", async () => {
    const server = await startServer();
    const { logger, lines } = memoryLogger();
    const transport = startTransport(server, { hostKey: { insecureSkip: true }, logger });
    await run(transport, "/disk print");
    const warnings = (): LogLine[] => lines().filter((line) => line.level === "warn" && line.message.includes("host key verification is disabled"));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ hostKey: `ssh-ed25519 ${hostFingerprint}`, rds: `127.0.0.1:${server.port}` });

    await server.stop();
    await waitUntil("the loss", () => transport.state !== "connected");
    await startServer({ port: server.port });
    await waitUntil("the reconnect", () => transport.state === "connected");
    expect(warnings()).toHaveLength(2);
  });
});

describe("Ssh2Transport authentication", () => {
  it("logs in with a password", async () => {
    const server = await startServer({ password: "s3cret", publicKeys: [] });
    const transport = startTransport(server, { auth: { password: "s3cret" } });
    await run(transport, "/disk print");
  });

  it("logs in with an ECDSA key", async () => {
    const ecdsa = ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 });
    const server = await startServer({ publicKeys: [ecdsa.public] });
    const transport = startTransport(server, { auth: { privateKey: ecdsa.private } });
    await run(transport, "/disk print");
  });

  it("logs in with a passphrase-protected RSA key", async () => {
    const rsa = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048, passphrase: "pass phrase", cipher: "aes256-cbc" });
    const server = await startServer({ publicKeys: [rsa.public] });
    const transport = startTransport(server, { auth: { privateKey: Buffer.from(rsa.private), passphrase: "pass phrase" } });
    await run(transport, "/disk print");
  });

  it("rejects an unusable key at construction, without the key in the message", () => {
    const rsa = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048, passphrase: "pass phrase", cipher: "aes256-cbc" });
    const options = { host: "10.0.0.1", username: SSH_USER, hostKey: { insecureSkip: true as const }, logger: memoryLogger().logger };
    const noPassphrase = (): Ssh2Transport => new Ssh2Transport({ ...options, auth: { privateKey: rsa.private } });
    expect(noPassphrase).toThrow(InvalidArgumentError);
    expect(noPassphrase).toThrow(/^auth\.privateKey cannot be used: /);
    const publicOnly = (): Ssh2Transport => new Ssh2Transport({ ...options, auth: { privateKey: clientKey.public } });
    expect(publicOnly).toThrow("auth.privateKey cannot be used: holds a public key; the private key is needed");
  });

  it("fails every caller with FailedPreconditionError on a refused login and retries slowly, not in a tight loop", async () => {
    const server = await startServer({ password: "right", publicKeys: [] });
    const transport = startTransport(server, { auth: { password: "wrong" }, reconnect: { initialDelayMs: 10, maxDelayMs: 2_000 } });
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error.message).toBe(
      `RDS 127.0.0.1:${server.port} refused the login of user "admin" with the configured password; ` +
        "check the SSH credentials and the RouterOS user",
    );
    expect(error.message).not.toContain("wrong");
    await sleep(1_000);
    // A refused login waits the longest delay (2 s here) before the next attempt.
    expect(server.connectionsAccepted).toBeLessThanOrEqual(2);
    await expect(run(transport, "/disk print")).rejects.toThrow(FailedPreconditionError);
  });
});

describe("Ssh2Transport options", () => {
  const base: Ssh2TransportOptions = {
    host: "10.0.0.1",
    username: SSH_USER,
    auth: { password: "x" },
    hostKey: { insecureSkip: true },
    logger: memoryLogger().logger,
  };

  it.each<[string, Partial<Ssh2TransportOptions>, string]>([
    ["host", { host: " " }, "Ssh2Transport option host must not be empty"],
    ["username", { username: "" }, "Ssh2Transport option username must not be empty"],
    ["port", { port: 70_000 }, "Ssh2Transport option port must be an integer in [1, 65535], got 70000"],
    ["maxChannels", { maxChannels: 0 }, "Ssh2Transport option maxChannels must be an integer in [1, 1000], got 0"],
    ["connectTimeoutMs", { connectTimeoutMs: 1.5 }, "option connectTimeoutMs must be an integer"],
    ["keepaliveIntervalMs", { keepaliveIntervalMs: 0 }, "option keepaliveIntervalMs must be an integer"],
    ["keepaliveCountMax", { keepaliveCountMax: -1 }, "option keepaliveCountMax must be an integer"],
    ["reconnect.initialDelayMs", { reconnect: { initialDelayMs: 0 } }, "option reconnect.initialDelayMs must be an integer"],
    [
      "reconnect.maxDelayMs",
      { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } },
      "Ssh2Transport option reconnect.maxDelayMs must be an integer in [500, 2147483647], got 100",
    ],
    ["failFastAfterAttempts", { failFastAfterAttempts: 0 }, "option failFastAfterAttempts must be an integer"],
    ["hostKey", { hostKey: { fingerprint: "nope" } }, "hostKey.fingerprint must be an OpenSSH SHA256 fingerprint"],
  ])("rejects a bad %s naming it", (_name, override, message) => {
    const make = (): Ssh2Transport => new Ssh2Transport({ ...base, ...override });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
  });

  it("refuses run() before start() and a deadline that is not a positive timer value", async () => {
    const transport = new Ssh2Transport(base);
    await expect(run(transport, "/disk print")).rejects.toThrow("Ssh2Transport.run called before start()");
    await expect(run(transport, "/disk print", { timeoutMs: 0 })).rejects.toThrow(RangeError);
    await transport.close();
  });
});
