import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError } from "@rds-csi/core";
import { loadHostIdentity } from "./host-identity.js";

describe("loadHostIdentity", () => {
  let etc: string;
  beforeEach(async () => {
    etc = await mkdtemp(join(tmpdir(), "host-identity-"));
  });
  afterEach(async () => {
    await rm(etc, { recursive: true, force: true });
  });

  it("generates a uuid host NQN and host id once, persists them, and returns the same on every load", async () => {
    const first = await loadHostIdentity(etc);
    expect(first.hostNqn).toMatch(/^nqn\.2014-08\.org\.nvmexpress:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.hostNqn.endsWith(first.hostId)).toBe(true);
    expect(await readFile(join(etc, "nvme/hostnqn"), "utf8")).toBe(`${first.hostNqn}\n`);
    expect(await readFile(join(etc, "nvme/hostid"), "utf8")).toBe(`${first.hostId}\n`);
    expect(await loadHostIdentity(etc)).toEqual(first);
    // concurrent loads agree and leave no temp files
    const again = await Promise.all([loadHostIdentity(etc), loadHostIdentity(etc)]);
    expect(again).toEqual([first, first]);
    expect((await readdir(join(etc, "nvme"))).sort()).toEqual(["hostid", "hostnqn"]);
  });

  it("two fresh nodes get different identities", async () => {
    const other = await mkdtemp(join(tmpdir(), "host-identity-"));
    try {
      expect((await loadHostIdentity(other)).hostNqn).not.toBe((await loadHostIdentity(etc)).hostNqn);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("keeps an existing host NQN and derives a missing host id from it", async () => {
    await mkdir(join(etc, "nvme"));
    await writeFile(join(etc, "nvme/hostnqn"), "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-4000-8000-000000000001\n");
    expect(await loadHostIdentity(etc)).toEqual({
      hostNqn: "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-4000-8000-000000000001",
      hostId: "aaaaaaaa-0000-4000-8000-000000000001",
    });
  });

  it("refuses (and never overwrites) a malformed identity", async () => {
    await mkdir(join(etc, "nvme"));
    await writeFile(join(etc, "nvme/hostnqn"), "not-an-nqn\n");
    await expect(loadHostIdentity(etc)).rejects.toThrow(FailedPreconditionError);
    expect(await readFile(join(etc, "nvme/hostnqn"), "utf8")).toBe("not-an-nqn\n");
    // The driver's one NQN grammar (core's nvme/nqn.ts): a name the controller could never grant on the RDS.
    await writeFile(join(etc, "nvme/hostnqn"), "nqn.2014-08.org.nvmexpress\n");
    await expect(loadHostIdentity(etc)).rejects.toThrow(/holds no valid NVMe host NQN: "nqn.2014-08.org.nvmexpress"/);
    await writeFile(join(etc, "nvme/hostnqn"), "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-4000-8000-000000000001\n");
    await writeFile(join(etc, "nvme/hostid"), "xyz\n");
    await expect(loadHostIdentity(etc)).rejects.toThrow(/hostid/);
  });
});
