import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startSimulator, type RdsSimulator } from "./simulator.js";

const run = promisify(execFile);

/**
 * The simulator with Debian's OpenSSH client, as an operator (or a shell script) would use it:
 * `ssh -p PORT admin@127.0.0.1 '/disk print detail'`. openssh-client is installed by
 * scripts/install-deps.sh.
 */
describe("OpenSSH client compatibility", () => {
  let dir: string;
  let sim: RdsSimulator;
  let keyFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-sim-openssh-"));
    keyFile = join(dir, "id_ed25519");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test@rds-sim", "-f", keyFile]);
    sim = await startSimulator({ stateDir: join(dir, "state"), authorizedKeys: await readFile(`${keyFile}.pub`, "utf8"), foreignDisks: "none" });
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const ssh = (login: string, command: string) =>
    run("ssh", [
      "-F", "/dev/null",
      "-p", String(sim.port),
      "-i", keyFile,
      "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null",
      "-o", "BatchMode=yes",
      "-o", "LogLevel=ERROR",
      `${login}@127.0.0.1`,
      command,
    ]);

  it("runs commands and prints RouterOS output byte for byte", async () => {
    const nqn = "nqn.2000-02.com.mikrotik:pvc-0b6f7e2a-1111-4222-8333-444455556666";
    expect(
      await ssh(
        "admin",
        `/disk add type=file slot="pvc-0b6f7e2a-1111-4222-8333-444455556666" file-path="/raid10/vols/pvc-0b6f7e2a-1111-4222-8333-444455556666.img" ` +
          `file-size=1G nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${nqn}" comment="rds-csi:v1 kind=volume"`,
      ),
    ).toEqual({ stdout: "", stderr: "" });
    const { stdout } = await ssh("admin", '/disk print detail where slot="pvc-0b6f7e2a-1111-4222-8333-444455556666"');
    expect(stdout.split("\r\n")).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      " 1 Bt ;;; rds-csi:v1 kind=volume",
      '      type=file slot="pvc-0b6f7e2a-1111-4222-8333-444455556666" slot-default=""',
      '      parent="" fs=-',
      '      model="/raid10/vols/pvc-0b6f7e2a-1111-4222-8333-444455556666.img"',
      "      size=1 073 741 824 mount-filesystem=no mount-read-only=no compress=no",
      "      sector-size=512 raid-master=none nvme-tcp-export=yes",
      "      nvme-tcp-server-port=4420",
      '      nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-0b6f7e2a-1111-4222-8333-',
      '      444455556666" nvme-tcp-server-allow-host-name="" iscsi-export=no',
      "      nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none",
      "      swap=no",
      "      file-path=/raid10/vols/pvc-0b6f7e2a-1111-4222-8333-444455556666.img",
      "      file-size=1024.0MiB file-offset=0",
      "",
    ]);
  });

  it("honours console options in the login name", async () => {
    const { stdout } = await ssh("admin+ct200w", '/disk print detail where mount-point="raid10"');
    expect(stdout.split("\r\n")[1]).toMatch(/^ 0 BM type=raid slot="raid10" .{150,}$/u);
  });

  it("shows errors on stdout with exit status 0", async () => {
    expect(await ssh("admin", "/disk print detail; /system reboot")).toEqual({
      stdout: "expected end of command (line 1 column 19)\r\n",
      stderr: "",
    });
  });

  it("presents the host key whose fingerprint the simulator reports", async () => {
    const { stdout: scanned } = await run("ssh-keyscan", ["-p", String(sim.port), "-t", "ed25519", "127.0.0.1"]);
    const listFile = join(dir, "scanned");
    await writeFile(listFile, scanned);
    const { stdout } = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", listFile]);
    expect(stdout.split(" ")[1]).toBe(sim.hostKeyFingerprint);
  });
});
