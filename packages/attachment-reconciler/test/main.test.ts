import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { describeEntryPoint, runToExit, startFakeApiServer, type FakeApiServer } from "@rds-csi/testkit";

const mainPath = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

// The reconciler needs an RDS login and the API server; Probe answers ready once its informers listed
// (the RDS is reached in the background and only needed to fence or audit).
let api: FakeApiServer;
let fixtures: string;
beforeAll(async () => {
  api = await startFakeApiServer();
  fixtures = await mkdtemp(join(tmpdir(), "rds-csi-reconciler-main-"));
  await writeFile(join(fixtures, "kubeconfig"), api.kubeConfig().exportConfig());
  await writeFile(join(fixtures, "id_ed25519"), generateEd25519KeyPair().private, { mode: 0o600 });
});
afterAll(async () => {
  await api.stop();
  await rm(fixtures, { recursive: true, force: true });
});

const requiredEnv = (): NodeJS.ProcessEnv => ({
  RDS_ADDRESS: "127.0.0.1",
  RDS_SSH_PORT: "1",
  RDS_PRIVATE_KEY_FILE: join(fixtures, "id_ed25519"),
  RDS_HOST_KEY_FINGERPRINT: "SHA256:tDwEf1u30pCe/c+6Bpqv+6oGNUa4rJUaeJctnxXrQdQ",
  KUBECONFIG: join(fixtures, "kubeconfig"),
});

describeEntryPoint({ mainPath, program: "rds-csi-attachment-reconciler", version: packageJson.version, requiredEnv });

describe("rds-csi-attachment-reconciler settings", () => {
  it.each([
    [{ FAILURE_GRACE: "0s" }, "--failure-grace (env FAILURE_GRACE)"],
    [{ FENCE_STRATEGIES: "taint,power" }, "--fence-strategies (env FENCE_STRATEGIES)"],
    [{ MAX_FAILED_PERCENT: "150" }, "--max-failed-percent (env MAX_FAILED_PERCENT)"],
    [{ ORPHAN_DISK_DELETION: "yes" }, "--orphan-disk-deletion (env ORPHAN_DISK_DELETION)"],
    [{ LEADER_RENEW_DEADLINE: "20s" }, "--leader-renew-deadline, --leader-retry-period (env LEADER_LEASE_DURATION, LEADER_RENEW_DEADLINE, LEADER_RETRY_PERIOD): leader election timing must satisfy"],
  ])("exits 2 naming the setting for %j", async (bad, message) => {
    const result = await runToExit(mainPath, [], { ...requiredEnv(), ...bad });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
