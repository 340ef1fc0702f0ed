import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, GiB, loadConfig, MiB, TiB } from "@rds-csi/core";
import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { resolveControllerConfig } from "./controller-config.js";
import { controllerSettings } from "./controller-settings.js";

let dir: string;
let keyFile: string;
const key = generateEd25519KeyPair();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rds-csi-controller-config-"));
  keyFile = join(dir, "id_ed25519");
  await writeFile(keyFile, key.private);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FINGERPRINT = "SHA256:tDwEf1u30pCe/c+6Bpqv+6oGNUa4rJUaeJctnxXrQdQ";

function load(env: Record<string, string>) {
  return loadConfig(controllerSettings(), [], { RDS_ADDRESS: "10.0.0.5", RDS_PRIVATE_KEY_FILE: keyFile, RDS_HOST_KEY_FINGERPRINT: FINGERPRINT, ...env });
}

describe("controller settings", () => {
  it("needs only the RDS address, a key and a host key check; the rest has defaults", async () => {
    const config = load({});
    expect(config).toMatchObject({
      rdsSshPort: 22,
      rdsUser: "admin",
      basePath: "/storage-pool/metal-csi",
      nqnPrefix: "nqn.2000-02.com.mikrotik",
      nvmePort: 4420,
      copyStrategyTrust: "unverified",
      hostAccessControlTrust: "unverified",
      volumeSizeMin: GiB,
      volumeSizeMax: 16n * TiB,
    });
    const resolved = await resolveControllerConfig(config);
    expect(resolved).toMatchObject({
      connection: { host: "10.0.0.5", port: 22, username: "admin", hostKey: { fingerprint: FINGERPRINT } },
      sizeLimits: { minBytes: GiB, maxBytes: 16n * TiB },
      parameterDefaults: { nvmePort: 4420, nvmeAddress: "10.0.0.5", basePath: "/storage-pool/metal-csi" },
      topology: undefined,
    });
    expect(resolved.connection.auth).toEqual({ privateKey: expect.stringContaining("BEGIN OPENSSH PRIVATE KEY") });
    expect(resolved.layout.nqn("pvc-1")).toBe("nqn.2000-02.com.mikrotik:pvc-1");
  });

  it("stops on missing or malformed settings, naming each", () => {
    const problems = (): string[] => {
      try {
        loadConfig(controllerSettings(), [], {
          RDS_BASE_PATH: "relative/path",
          NVME_ADDRESS: "rds.lan",
          TOPOLOGY_KEY: "not a key",
          VOLUME_SIZE_MIN: "1G",
          COPY_STRATEGY_TRUST: "maybe",
        });
      } catch (err) {
        if (err instanceof ConfigError) return [...err.problems];
        throw err;
      }
      return [];
    };
    const text = problems().join("\n");
    for (const part of [
      "--rds-address (env RDS_ADDRESS): required setting is missing",
      "--rds-private-key-file (env RDS_PRIVATE_KEY_FILE): required setting is missing",
      '--rds-base-path (env RDS_BASE_PATH): invalid value "relative/path"',
      "--nvme-address (env NVME_ADDRESS): invalid value \"rds.lan\" from env NVME_ADDRESS: must be an IPv4 or IPv6 address",
      "--topology-key (env TOPOLOGY_KEY): invalid value",
      '--volume-size-min (env VOLUME_SIZE_MIN): invalid value "1G"',
      "--copy-strategy-trust (env COPY_STRATEGY_TRUST): invalid value \"maybe\"",
    ]) {
      expect(text).toContain(part);
    }
  });

  it("needs exactly one way of checking the RDS's host key", async () => {
    const none = loadConfig(controllerSettings(), [], { RDS_ADDRESS: "10.0.0.5", RDS_PRIVATE_KEY_FILE: keyFile });
    await expect(resolveControllerConfig(none)).rejects.toThrow(
      "set exactly one of --rds-host-key-fingerprint (env RDS_HOST_KEY_FINGERPRINT), --rds-known-hosts-file (env RDS_KNOWN_HOSTS_FILE) and --rds-insecure-skip-host-key-check (env RDS_INSECURE_SKIP_HOST_KEY_CHECK); none is set",
    );
    await expect(resolveControllerConfig(load({ RDS_INSECURE_SKIP_HOST_KEY_CHECK: "true" }))).rejects.toThrow("several are set");
    const skip = loadConfig(controllerSettings(), ["--rds-insecure-skip-host-key-check"], { RDS_ADDRESS: "10.0.0.5", RDS_PRIVATE_KEY_FILE: keyFile });
    expect((await resolveControllerConfig(skip)).connection.hostKey).toEqual({ insecureSkip: true });
  });

  it("reads the key, passphrase and known_hosts files, and names a file it cannot read without its content", async () => {
    const knownHosts = join(dir, "known_hosts");
    await writeFile(knownHosts, `10.0.0.5 ${key.public}\n`);
    const passphrase = join(dir, "passphrase");
    await writeFile(passphrase, "s3cret\n");
    const base = { RDS_ADDRESS: "10.0.0.5", RDS_PRIVATE_KEY_FILE: keyFile, RDS_KNOWN_HOSTS_FILE: knownHosts, RDS_PRIVATE_KEY_PASSPHRASE_FILE: passphrase };
    const resolved = await resolveControllerConfig(loadConfig(controllerSettings(), [], base));
    expect(resolved.connection.hostKey).toEqual({ knownHosts: `10.0.0.5 ${key.public}\n` });
    expect(resolved.connection.auth).toMatchObject({ passphrase: "s3cret" });
    const missing = join(dir, "no-such-key");
    await expect(resolveControllerConfig(loadConfig(controllerSettings(), [], { ...base, RDS_PRIVATE_KEY_FILE: missing }))).rejects.toThrow(
      `--rds-private-key-file (env RDS_PRIVATE_KEY_FILE): cannot read "${missing}" (ENOENT)`,
    );
  });

  it("needs an IP address for NVMe/TCP when the RDS is reached by name", async () => {
    await expect(resolveControllerConfig(load({ RDS_ADDRESS: "rds.lan" }))).rejects.toThrow(
      '--nvme-address (env NVME_ADDRESS) is required when --rds-address "rds.lan" is a host name',
    );
    const resolved = await resolveControllerConfig(load({ RDS_ADDRESS: "rds.lan", NVME_ADDRESS: "10.0.0.6" }));
    expect(resolved.parameterDefaults.nvmeAddress).toBe("10.0.0.6");
  });

  it("takes a topology segment as key and value together", async () => {
    await expect(resolveControllerConfig(load({ TOPOLOGY_KEY: "topology.rds.csi.srvlab.io/rds" }))).rejects.toThrow(
      "--topology-key (env TOPOLOGY_KEY) and --topology-value (env TOPOLOGY_VALUE) are set together or not at all",
    );
    const resolved = await resolveControllerConfig(load({ TOPOLOGY_KEY: "topology.rds.csi.srvlab.io/rds", TOPOLOGY_VALUE: "rack1" }));
    expect(resolved.topology).toEqual({ key: "topology.rds.csi.srvlab.io/rds", value: "rack1" });
  });

  it("checks the size limits against each other", async () => {
    expect((await resolveControllerConfig(load({ VOLUME_SIZE_MIN: "512Mi", VOLUME_SIZE_MAX: "1Ti" }))).sizeLimits).toEqual({
      minBytes: 512n * MiB,
      maxBytes: TiB,
    });
    await expect(resolveControllerConfig(load({ VOLUME_SIZE_MIN: "2Gi", VOLUME_SIZE_MAX: "1Gi" }))).rejects.toThrow(
      "--volume-size-min (env VOLUME_SIZE_MIN) / --volume-size-max (env VOLUME_SIZE_MAX): the minimum volume size 2147483648 bytes is above the maximum 1073741824 bytes",
    );
  });
});
