import { rm } from "node:fs/promises";
import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";
import type { SshSession } from "./test-support/ssh-exec.js";

describe("control API", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${t.sim.controlUrl}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text === "" ? undefined : JSON.parse(text) };
  };

  beforeEach(async () => {
    t = await startTestSimulator({ poolSize: "1G" });
    ssh = await t.connect();
    await ssh.exec('/disk add type=file slot="pvc-1" file-path="/raid10/pvc-1.img" file-size=1M nvme-tcp-export=yes');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("serves on 127.0.0.1 and reports status, disks, exports and the command log", async () => {
    expect(new URL(t.sim.controlUrl).hostname).toBe("127.0.0.1");
    expect(await call("GET", "/status")).toEqual({
      status: 200,
      json: { port: t.sim.port, hostKeyFingerprint: t.sim.hostKeyFingerprint, settings: t.sim.settings, faults: t.sim.faults.state() },
    });
    expect((await call("GET", "/disks")).json).toMatchObject([{ slot: "pvc-1", size: 1048576, backingFile: `${t.stateDir}/files/raid10/pvc-1.img` }]);
    t.sim.connectHost("pvc-1", "nqn.2014-08.org.nvmexpress:uuid:a");
    expect((await call("GET", "/exports")).json).toMatchObject([{ nqn: "pvc-1", connections: ["nqn.2014-08.org.nvmexpress:uuid:a"] }]);
    expect((await call("GET", "/command-log")).json).toMatchObject([{ user: "admin", outcome: "ok", output: "" }]);
    expect(await call("DELETE", "/command-log")).toEqual({ status: 204, json: undefined });
    expect(t.sim.commandLog()).toEqual([]);
  });

  it("changes settings", async () => {
    expect(await call("PATCH", "/settings", { copyFrom: "data", latency: { readMs: 5 } })).toEqual({
      status: 200,
      json: { copyFrom: "data", diskBusy: "never", foreignDisks: "rds2216", allowHost: "ignored", detailWrap: "pairs", errorExitStatus: 0, latency: { readMs: 5, mutateMs: 0 } },
    });
    expect(t.sim.settings.copyFrom).toBe("data");
  });

  it("sets each fault, lists them and resets them", async () => {
    expect((await call("POST", "/faults/delay", { read: 10, mutate: 20 })).status).toBe(204);
    expect((await call("POST", "/faults/drop-connection", { when: "after", count: 1, match: { contains: "remove" } })).status).toBe(204);
    expect((await call("POST", "/faults/error-reply", { text: "failure: busy", count: 2, match: { regex: "^/disk set" } })).status).toBe(204);
    expect((await call("POST", "/faults/disk-full", { enabled: true })).status).toBe(204);
    expect((await call("GET", "/faults")).json).toEqual({
      delayMs: { read: 10, mutate: 20 },
      dropConnection: [{ when: "after", count: 1, match: { contains: "remove" } }],
      errorReply: [{ text: "failure: busy", count: 2, match: { regex: "^/disk set" } }],
      diskFull: true,
      authFailure: false,
    });
    expect((await ssh.exec("/disk set pvc-1 comment=x")).stdout).toBe("failure: busy\r\n");
    expect((await call("POST", "/faults/reset")).status).toBe(204);
    expect(t.sim.faults.state().errorReply).toEqual([]);
  });

  it("fails authentication on request", async () => {
    expect((await call("POST", "/faults/auth-failure", { enabled: true })).status).toBe(204);
    await expect(t.connect()).rejects.toThrow("authentication");
    await call("POST", "/faults/auth-failure", { enabled: false });
    await expect(t.connect()).resolves.toBeDefined();
  });

  it("changes the host key and restarts the RDS", async () => {
    const changed = await call("POST", "/faults/host-key-change");
    expect(changed).toEqual({ status: 200, json: { hostKeyFingerprint: t.sim.hostKeyFingerprint } });
    expect((await call("POST", "/faults/restart", {})).status).toBe(204);
    await ssh.closed;
    expect((await call("POST", "/faults/restart", { refuseConnectionsMs: 200 })).status).toBe(204);
    await expect(t.connect()).rejects.toThrow("ECONNREFUSED");
  });

  it("connects and disconnects NVMe/TCP hosts for the fake fabric", async () => {
    const hostA = "nqn.2014-08.org.nvmexpress:uuid:a";
    expect(await call("POST", "/exports/connect", { nqn: "pvc-1", hostNqn: hostA })).toEqual({
      status: 200,
      json: { backingFile: `${t.stateDir}/files/raid10/pvc-1.img`, size: 1048576, port: 4420 },
    });
    expect(t.sim.connections("pvc-1")).toEqual([hostA]);
    expect(await call("POST", "/exports/connect", { nqn: "pvc-1", hostNqn: hostA })).toMatchObject({ status: 200 });
    expect(await call("POST", "/exports/disconnect", { nqn: "pvc-1", hostNqn: hostA })).toEqual({ status: 204, json: undefined });
    expect(t.sim.connections("pvc-1")).toEqual([]);
    expect(await call("POST", "/exports/disconnect", { nqn: "pvc-1", hostNqn: hostA })).toEqual({ status: 204, json: undefined });
  });

  it("answers 404 for an unknown export, 403 for a host not allowed and 503 while restarting", async () => {
    expect(await call("POST", "/exports/connect", { nqn: "pvc-9", hostNqn: "h" })).toEqual({
      status: 404,
      json: { error: "no NVMe/TCP export with NQN pvc-9", reason: "no-such-export" },
    });
    await ssh.exec('/disk set pvc-1 nvme-tcp-server-allow-host-name="host-a"');
    await t.sim.updateSettings({ allowHost: "enforce-new" });
    expect(await call("POST", "/exports/connect", { nqn: "pvc-1", hostNqn: "host-b" })).toEqual({
      status: 403,
      json: { error: "host host-b is not allowed to connect to pvc-1", reason: "host-not-allowed" },
    });
    expect((await call("POST", "/exports/connect", { nqn: "pvc-1", hostNqn: "host-a" })).status).toBe(200);
    expect(t.sim.connections("pvc-1")).toEqual(["host-a"]);
    await t.sim.restart({ refuseConnectionsMs: 500 });
    expect(await call("POST", "/exports/connect", { nqn: "pvc-1", hostNqn: "host-a" })).toMatchObject({ status: 503, json: { reason: "unavailable" } });
  });

  it.each([
    ["GET", "/nope", undefined, 404, "no endpoint GET /nope"],
    ["DELETE", "/disks", undefined, 404, "no endpoint DELETE /disks"],
    ["POST", "/faults/delay", "{", 400, "body is not JSON"],
    ["POST", "/faults/delay", "[1]", 400, "body must be a JSON object"],
    ["POST", "/faults/delay", { read: "slow" }, 400, "read must be a whole number of milliseconds >= 0"],
    ["POST", "/faults/drop-connection", { when: "later", count: 1 }, 400, 'when must be "before" or "after"'],
    ["POST", "/faults/error-reply", { count: 1 }, 400, "text must be a non-empty string"],
    ["POST", "/faults/disk-full", {}, 400, "enabled must be true or false"],
    ["POST", "/faults/restart", { refuseConnectionsMs: -5 }, 400, "refuseConnectionsMs must be a whole number >= 0"],
    ["POST", "/exports/connect", { nqn: "pvc-1" }, 400, "hostNqn must be a non-empty string"],
    ["POST", "/exports/disconnect", { hostNqn: "h" }, 400, "nqn must be a non-empty string"],
    ["PATCH", "/settings", { allowHost: "maybe" }, 400, "allowHost must be one of ignored, enforce-new, enforce-and-drop"],
  ])("answers %s %s %j with %d", async (method, path, body, status, error) => {
    expect(await call(method, path, body)).toEqual({ status, json: { error: expect.stringContaining(error) } });
  });

  it("refuses a body larger than 1 MiB", async () => {
    expect(await call("POST", "/faults/reset", `"${"x".repeat(1024 * 1024)}"`)).toEqual({ status: 400, json: { error: "body larger than 1 MiB" } });
  });

  it("answers 500 without details when the simulator itself fails", async () => {
    await rm(t.stateDir, { recursive: true, force: true });
    expect(await call("PATCH", "/settings", { copyFrom: "data" })).toEqual({ status: 500, json: { error: "internal error; see the simulator's log" } });
  });
});
