import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { csi, GiB, pluginCapabilities } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, rdsEnv, runToExit, startFakeApiServer, startServiceProcess, type FakeApiServer } from "@rds-csi/testkit";

const mainPath = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
const key = generateEd25519KeyPair();
const FINGERPRINT = "SHA256:tDwEf1u30pCe/c+6Bpqv+6oGNUa4rJUaeJctnxXrQdQ";

describe("rds-csi-controller entry point", () => {
  let dir: string;
  let keyFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-controller-main-"));
    keyFile = join(dir, "id_ed25519");
    await writeFile(keyFile, key.private, { mode: 0o600 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints its settings with --help and exits 0", async () => {
    const result = await runToExit(mainPath, ["--help"]);
    expect(result.code).toBe(0);
    for (const text of ["rds-csi-controller", "--csi-endpoint", "--rds-address", "RDS_PRIVATE_KEY_FILE", "--rds-host-key-fingerprint", "--copy-strategy-trust", "--volume-size-max"]) {
      expect(result.stdout).toContain(text);
    }
  });

  it("exits 2 naming every missing setting", async () => {
    const result = await runToExit(mainPath, []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--rds-address (env RDS_ADDRESS): required setting is missing");
    expect(result.stderr).toContain("--rds-private-key-file (env RDS_PRIVATE_KEY_FILE): required setting is missing");
  });

  // docs/configuration.md: "A missing, unknown or invalid setting stops start-up with exit code 2".
  it.each([
    ["no way of checking the RDS's host key is chosen", {}, "set exactly one of --rds-host-key-fingerprint"],
    ["two ways are chosen", { RDS_HOST_KEY_FINGERPRINT: FINGERPRINT, RDS_INSECURE_SKIP_HOST_KEY_CHECK: "true" }, "several are set"],
    ["the known_hosts file cannot be read", { RDS_KNOWN_HOSTS_FILE: "/nonexistent/known_hosts" }, "--rds-known-hosts-file (env RDS_KNOWN_HOSTS_FILE): cannot read"],
    ["the known_hosts file has no key for the RDS", { RDS_KNOWN_HOSTS_FILE: "KNOWN_HOSTS" }, "--rds-known-hosts-file (env RDS_KNOWN_HOSTS_FILE): hostKey.knownHosts has no"],
  ])("exits 2 when %s", async (_, settings: Record<string, string>, message) => {
    const knownHosts = join(dir, "known_hosts");
    await writeFile(knownHosts, `10.9.9.9 ${key.public}\n`);
    const env = Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, value === "KNOWN_HOSTS" ? knownHosts : value]));
    const result = await runToExit(mainPath, [], { RDS_ADDRESS: "127.0.0.1", RDS_PRIVATE_KEY_FILE: keyFile, ...env });
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("PRIVATE KEY");
  });

  it.each(malformedKeyFiles())("exits 2 on a malformed private key file ($name) with no byte of the file in any message", async ({ content, secrets }) => {
    await writeFile(keyFile, content, { mode: 0o600 });
    // A loadable kubeconfig (never contacted), so that nothing else stops start-up first.
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n" +
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    const env = { RDS_ADDRESS: "127.0.0.1", RDS_PRIVATE_KEY_FILE: keyFile, RDS_HOST_KEY_FINGERPRINT: FINGERPRINT, KUBECONFIG: kubeconfig };
    const result = await runToExit(mainPath, [], env);
    expect(result.stderr).toContain(`--rds-private-key-file (env RDS_PRIVATE_KEY_FILE): "${keyFile}" not a readable SSH private key`);
    expect(result.code).toBe(2);
    const output = result.stdout + result.stderr;
    for (const secret of secrets) {
      for (let at = 0; at + 4 <= secret.length; at++) {
        expect({ window: secret.slice(at, at + 4), found: output.includes(secret.slice(at, at + 4)) }).toEqual({ window: secret.slice(at, at + 4), found: false });
      }
    }
  });

  describe("against a simulated RDS and API server", () => {
    let sim: RdsSimulator;
    let api: FakeApiServer;
    let env: NodeJS.ProcessEnv;
    beforeEach(async () => {
      sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "10G" });
      api = await startFakeApiServer();
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, api.kubeConfig().exportConfig());
      env = { ...rdsEnv(sim, keyFile), KUBECONFIG: kubeconfig };
    });
    afterEach(async () => {
      await api.stop();
      await sim.stop();
    });

    it("serves Identity and Controller, is ready once connected, and removes its socket on SIGTERM", async () => {
      const socket = join(dir, "csi.sock");
      const service = await startServiceProcess(mainPath, `unix://${socket}`, ["--metrics-address", "127.0.0.1:0"], env);
      try {
        const { identity, controller } = service.clients;
        expect(await callUnary(identity, identity.getPluginInfo, {})).toEqual({ name: "rds.csi.srvlab.io", vendorVersion: version, manifest: {} });
        // The node plugin answers the same (csi-node main.test.ts): one list for both, built in core.
        expect((await callUnary(identity, identity.getPluginCapabilities, {})).capabilities).toEqual(pluginCapabilities({ topology: false }));
        await waitFor(async () => (await callUnary(identity, identity.probe, {})).ready === true);
        const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
        const { volume } = await callUnary(controller, controller.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "main-test", volumeCapabilities: [capability] }));
        expect(volume).toMatchObject({ capacityBytes: GiB, volumeContext: { nvmeAddress: "127.0.0.1", nvmePort: "4420" } });
        expect(sim.disks().map((disk) => disk.filePath)).toEqual([`/raid10/csi/${volume!.volumeId}.img`]);
        await callUnary(controller, controller.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume!.volumeId }));
        expect(sim.disks()).toEqual([]);
      } finally {
        expect(await service.stop("SIGTERM")).toBe(0);
      }
      await expect(stat(socket)).rejects.toMatchObject({ code: "ENOENT" });
      expect(service.output().stdout).not.toContain("PRIVATE KEY");
    });

    it("bin/rds-csi-controller starts it with the V8 heap limits it runs with in production", async () => {
      const launcher = fileURLToPath(new URL("../../bin/rds-csi-controller", import.meta.url));
      const service = await startServiceProcess(launcher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], env);
      try {
        const argv = (await readFile(`/proc/${service.pid}/cmdline`, "utf8")).split("\0");
        expect(argv.slice(1, 3)).toEqual(["--max-semi-space-size=2", "--max-old-space-size=96"]);
        expect(resolve(argv[3]!)).toBe(mainPath);
      } finally {
        expect(await service.stop("SIGTERM")).toBe(0);
      }
    });
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met within 15 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Key files that ssh2's parser refuses with a message quoting what it decoded (magic, cipher name, key
 * type), plus plain garbage. `secrets` are the file's text without the fixed armor lines, and the
 * printable text its base64 body decodes to after the format's magic: no four characters of either
 * may reach the output.
 */
function malformedKeyFiles(): Array<{ name: string; content: string; secrets: string[] }> {
  const sshString = (text: string): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(text));
    return Buffer.concat([length, Buffer.from(text, "latin1")]);
  };
  const u32 = (value: number): Buffer => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    return bytes;
  };
  const openssh = (body: Buffer): string =>
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString("base64").replace(/.{70}/g, "$&\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const privateBlob = Buffer.concat([u32(0x5eed5eed), u32(0x5eed5eed), sshString("quokka-secret-type"), sshString("zyxwvutsrqponmlk"), sshString("")]);
  const bodies: Array<[string, Buffer]> = [
    ["unknown magic", Buffer.from("XQZWJKPLMNBVCRTY-gibberish-magic\0trailing-bytes-here", "latin1")],
    ["unknown cipher", Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), sshString("zorblax-cipher-9000"), sshString("none"), sshString(""), u32(1)])],
    ["unknown kdf", Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), sshString("aes256-ctr"), sshString("quasarkdf"), sshString(""), u32(1)])],
    [
      "unknown key type",
      Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), sshString("none"), sshString("none"), sshString(""), u32(1), sshString("pubkeyblobpubkeyblob"), sshString(privateBlob.toString("latin1"))]),
    ],
  ];
  const printableRuns = (bytes: Buffer): string[] => bytes.toString("latin1").match(/[\x21-\x7e]{4,}/g) ?? [];
  const files = bodies.map(([name, body]) => {
    const content = openssh(body);
    const lines = content.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
    // The format's own magic is as fixed as the armor lines; what follows it is the file's content.
    const magic = Buffer.from("openssh-key-v1\0", "latin1");
    const own = body.subarray(0, magic.length).equals(magic) ? body.subarray(magic.length) : body;
    return { name, content, secrets: [...lines, ...printableRuns(own)] };
  });
  const pemBody = Buffer.from("MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu", "base64");
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${pemBody.toString("base64")}\n-----END RSA PRIVATE KEY-----\n`;
  files.push({ name: "truncated PEM", content: pem, secrets: [pemBody.toString("base64"), ...printableRuns(pemBody)] });
  const garbage = "correcthorsebatterystaple wibblewobble plinkplonk\n";
  files.push({ name: "not a key at all", content: garbage, secrets: garbage.trim().split(" ") });
  return files;
}
