import { connect, createServer, type Server as NetServer, type Socket } from "node:net";
import { UnavailableError } from "../../src/errors.js";
import { MetricsRegistry } from "../../src/observability/metrics.js";
import { memoryLogger } from "../support/memory-logger.js";
import type { SshConnectionState } from "../../src/routeros/ssh-transport.js";
import type { Ssh2Transport } from "../../src/routeros/ssh2-transport.js";
import { rejectionOf, run, Ssh2TransportFixture } from "../support/ssh2-transport-fixture.js";
import { hang, reply, TestSshServer, waitUntil } from "../support/test-ssh-server.js";

const fixture = new Ssh2TransportFixture();
const tcpServers: Array<{ server: NetServer; sockets: Set<Socket> }> = [];

/** A test SSH server answering every command with "ok", on `port` when given (a restart "on the same address"). */
function startServer(port?: number): Promise<TestSshServer> {
  return fixture.startServer({ onExec: reply("ok"), ...(port !== undefined && { port }) });
}

const startTransport = fixture.startTransport.bind(fixture);

/** A plain TCP server for handshakes that go wrong; `onSocket` decides what it does with a connection. */
async function startTcpServer(onSocket: (socket: Socket) => void): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  tcpServers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { port: address.port, sockets };
}

/** Forwards TCP to `targetPort`; freeze() makes the current connections go silent without closing them. */
async function startFreezableProxy(targetPort: number): Promise<{ port: number; freeze: () => void }> {
  const pairs: Array<[Socket, Socket]> = [];
  const proxy = await startTcpServer((downstream) => {
    const upstream = connect(targetPort, "127.0.0.1");
    upstream.on("error", () => {});
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
    pairs.push([downstream, upstream]);
  });
  const freeze = (): void => {
    for (const [downstream, upstream] of pairs.splice(0)) {
      // The client's bytes (keepalives included) are read and dropped, so its close still reaches us;
      // the server's bytes are no longer read at all.
      downstream.unpipe(upstream);
      upstream.unpipe(downstream);
      downstream.resume();
      upstream.pause();
    }
  };
  return { port: proxy.port, freeze };
}

function recordStates(transport: Ssh2Transport): SshConnectionState[] {
  const states: SshConnectionState[] = [];
  transport.onStateChange((state) => states.push(state));
  return states;
}

/** A port nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = await startServer();
  await server.stop();
  return server.port;
}

async function channelsInFlight(metrics: MetricsRegistry, count: number): Promise<boolean> {
  return (await metrics.metrics()).includes(`rds_csi_routeros_channels_in_flight ${count}\n`);
}

function activeCount(kind: string): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === kind).length;
}

afterEach(async () => {
  await fixture.stop();
  for (const { server, sockets } of tcpServers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe("Ssh2Transport reconnect", () => {
  it("notices a restarted RDS, reconnects with backoff, runs commands again and leaves one connection", async () => {
    const server = await startServer();
    const metrics = new MetricsRegistry();
    const { logger, lines } = memoryLogger();
    const transport = startTransport(server.port, { metrics, logger });
    await run(transport, "/disk print");
    const states = recordStates(transport);
    // One command runs on an open channel; another has its exec request still unanswered.
    server.onExec = hang;
    const running = rejectionOf(run(transport, "/disk add"));
    await waitUntil("the channel to be open", () => channelsInFlight(metrics, 1));
    server.onExec = () => {};
    const requested = rejectionOf(run(transport, "/disk set"));
    await waitUntil("the exec request", () => server.commands.includes("/disk set"));

    await server.stop();
    for (const lost of await Promise.all([running, requested])) {
      expect(lost).toBeInstanceOf(UnavailableError);
      expect(lost.message).toBe(
        `RDS 127.0.0.1:${server.port}: connection lost before the reply was complete; the command may or may not have run`,
      );
    }
    await waitUntil("a failed reconnect attempt", () => lines().some((line) => line.message === "connection attempt to RDS failed"));

    const restarted = await startServer(server.port);
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
    expect(states[0]).toBe("disconnected");
    expect(states).toContain("connecting");
    expect(states.at(-1)).toBe("connected");
    expect(restarted.openConnections).toBe(1);
    expect(lines().some((line) => line.level === "warn" && line.message === "connection to RDS lost; reconnecting")).toBe(true);

    const text = await metrics.metrics();
    expect(text).toContain("rds_csi_routeros_connection_up 1");
    expect(text).toContain('rds_csi_routeros_reconnects_total{outcome="success"} 1');
    expect(text).toMatch(/rds_csi_routeros_reconnects_total\{outcome="failure"\} [1-9]/);
    expect(text).toContain("rds_csi_routeros_reconnect_duration_seconds_count 1");
    expect(text).toContain("rds_csi_routeros_channels_in_flight 0");
  });

  it("detects a connection that went silent through keepalives and replaces it", async () => {
    const server = await startServer();
    const proxy = await startFreezableProxy(server.port);
    const { logger, lines } = memoryLogger();
    const metrics = new MetricsRegistry();
    const transport = startTransport(proxy.port, { keepaliveIntervalMs: 100, keepaliveCountMax: 2, logger, metrics });
    await run(transport, "/disk print");
    server.onExec = hang;
    const inFlight = rejectionOf(run(transport, "/disk add"));
    await waitUntil("the channel to be open", () => channelsInFlight(metrics, 1));

    proxy.freeze();
    // The deadline is 20 s: the keepalive, not the deadline, ends this call.
    const lost = await inFlight;
    expect(lost.message).toContain("connection lost before the reply was complete");
    expect(lines()).toContainEqual(expect.objectContaining({ level: "warn", message: "SSH connection error", error: "Keepalive timeout" }));

    server.onExec = reply("ok");
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
    await waitUntil("the silent connection to be closed", () => server.openConnections === 1);
    expect(server.connectionsAccepted).toBe(2);
  });
});

describe("Ssh2Transport circuit breaker", () => {
  it("fails callers fast while the RDS is down and closes again once it is back", async () => {
    const server = await startServer();
    const metrics = new MetricsRegistry();
    const transport = startTransport(server.port, { failFastAfterAttempts: 2, metrics });
    await run(transport, "/disk print");
    await server.stop();
    await waitUntil("the loss", () => transport.state !== "connected");

    // A caller with a long deadline is released by the circuit opening, not by its deadline.
    const waiting = await rejectionOf(run(transport, "/disk print", { timeoutMs: 20_000 }));
    expect(waiting).toBeInstanceOf(UnavailableError);
    expect(waiting.message).toMatch(
      new RegExp(
        `^circuit open: RDS 127\\.0\\.0\\.1:${server.port} down since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, \\d+ connection attempts failed ` +
          `\\(last: RDS 127\\.0\\.0\\.1:${server.port} unreachable: ECONNREFUSED\\)$`,
      ),
    );
    expect(waiting.message).not.toContain("timed out");
    const later = await rejectionOf(run(transport, "/disk print", { timeoutMs: 20_000 }));
    expect(later).toBeInstanceOf(UnavailableError);
    expect(later.message).toMatch(/^circuit open: /);
    expect(await metrics.metrics()).toContain("rds_csi_routeros_connection_up 0");

    await startServer(server.port);
    await waitUntil("the reconnect", () => transport.state === "connected");
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
  });

  it("fails fast a call that got its channel slot only after the circuit opened", async () => {
    const port = await freePort();
    const transport = startTransport(port, { failFastAfterAttempts: 2, maxChannels: 1 });
    // The first call waits for the connection holding the only slot; the second waits for the slot.
    const calls = [run(transport, "/disk print"), run(transport, "/file print")];
    for (const call of calls) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toMatch(/^circuit open: /);
    }
  });

  it("lets calls made at start wait for the first connection, through failed attempts below the threshold", async () => {
    const port = await freePort();
    const { logger, lines } = memoryLogger();
    const transport = startTransport(port, { failFastAfterAttempts: 1_000, logger });
    expect(transport.state).toBe("connecting");
    const waiting = run(transport, "/disk print");
    await waitUntil("two failed attempts", () => lines().filter((line) => line.message === "connection attempt to RDS failed").length >= 2);
    await startServer(port);
    expect((await waiting).stdout).toBe("ok");
  });

  it("names the connection state and the last failure when a deadline passes while waiting for the connection", async () => {
    const port = await freePort();
    const transport = startTransport(port, { failFastAfterAttempts: 1_000 });
    const error = await rejectionOf(run(transport, "/disk print", { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^RDS 127\\.0\\.0\\.1:${port}: command timed out after 300 ms waiting for the connection ` +
          `\\((connecting|disconnected); last attempt: RDS 127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED\\)$`,
      ),
    );
  });

  it("reports an RDS that accepts TCP but never speaks SSH as unreachable after the connect timeout", async () => {
    const silent = await startTcpServer((socket) => socket.resume());
    const transport = startTransport(silent.port, { connectTimeoutMs: 200, failFastAfterAttempts: 1 });
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error.message).toContain(`(last: RDS 127.0.0.1:${silent.port} unreachable: no SSH login within 200 ms)`);
  });

  it("reports a connection closed after the SSH banner, before the login finished", async () => {
    const closing = await startTcpServer((socket) => socket.end("SSH-2.0-RouterOS\r\n"));
    const transport = startTransport(closing.port, { failFastAfterAttempts: 1 });
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error.message).toContain(
      `(last: RDS 127.0.0.1:${closing.port}: SSH connection failed: connection closed before the login finished)`,
    );
  });

  it("reports a connection closed during the handshake", async () => {
    const closing = await startTcpServer((socket) => socket.destroy());
    const transport = startTransport(closing.port, { failFastAfterAttempts: 1 });
    const error = await rejectionOf(run(transport, "/disk print"));
    expect(error.message).toMatch(new RegExp(`\\(last: RDS 127\\.0\\.0\\.1:${closing.port}: SSH connection failed: .+\\)$`));
  });
});

describe("Ssh2Transport close", () => {
  it("ends the connection, its channels and timers; pending and later calls reject with UnavailableError", async () => {
    const server = await startServer();
    server.onExec = hang;
    const timersBefore = activeCount("Timeout");
    const socketsBefore = activeCount("TCPSocketWrap");
    const transport = startTransport(server.port, { maxChannels: 1 });
    const states = recordStates(transport);
    const running = run(transport, "/disk add");
    const queued = run(transport, "/disk print");
    await waitUntil("the command to start", () => server.commands.includes("/disk add"));

    const outcomes = [rejectionOf(running), rejectionOf(queued)];
    await transport.close();
    const closedMessage = `RDS 127.0.0.1:${server.port}: SSH transport closed`;
    for (const outcome of outcomes) {
      const error = await outcome;
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe(closedMessage);
    }
    await expect(run(transport, "/disk print")).rejects.toThrow(closedMessage);
    expect(transport.state).toBe("disconnected");
    expect(states.at(-1)).toBe("disconnected");
    await waitUntil("the connection to close", () => server.openConnections === 0 && server.openChannels === 0);
    expect(activeCount("Timeout")).toBeLessThanOrEqual(timersBefore);
    expect(activeCount("TCPSocketWrap")).toBeLessThanOrEqual(socketsBefore);
    await transport.close();
  });

  it("abandons a connection attempt in progress", async () => {
    const silent = await startTcpServer((socket) => socket.resume());
    const transport = startTransport(silent.port, { connectTimeoutMs: 20_000 });
    await waitUntil("the TCP connection", () => silent.sockets.size === 1);
    await transport.close();
    expect(transport.state).toBe("disconnected");
    await waitUntil("the TCP connection to close", () => silent.sockets.size === 0);
  });

  it("keeps the connection loop alive when a state listener throws, and logs it", async () => {
    const server = await startServer();
    const { logger, lines } = memoryLogger();
    const transport = fixture.createTransport(server.port, { logger });
    const unsubscribe = transport.onStateChange(() => {
      throw new Error("observer bug");
    });
    transport.start();
    expect((await run(transport, "/disk print")).stdout).toBe("ok");
    expect(lines()).toContainEqual(
      expect.objectContaining({ level: "error", message: "SSH connection state listener failed", error: "observer bug" }),
    );
    unsubscribe();
  });
});
