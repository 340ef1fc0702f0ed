import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "../errors.js";
import { ConfigError, settingName } from "../config/load-config.js";
import { boolSetting, intSetting, optionalStringSetting, stringSetting, type ConfigOf, type Setting } from "../config/settings.js";
import { VolumeLayout } from "../volume/volume-layout.js";
import { createHostKeyVerifier, type HostKeyPolicy } from "./host-key-verifier.js";
import { privateKeyProblem } from "./private-key-check.js";
import type { SshAuth } from "./ssh2-transport.js";

export const DEFAULT_NQN_PREFIX = "nqn.2000-02.com.mikrotik";
/** The earlier Go driver's base path, so its volumes are found without configuration. */
export const DEFAULT_BASE_PATH = "/storage-pool/metal-csi";

/**
 * Which RDS to talk to and how to log in: the settings of every process that runs RouterOS commands
 * (the controller, the node's self-check), so they read the same flags and refuse the same mistakes.
 */
export function rdsConnectionSettings() {
  return {
    rdsAddress: stringSetting({ flag: "rds-address", env: "RDS_ADDRESS", description: "host name or IP address of the RDS's SSH service" }),
    rdsSshPort: intSetting({ flag: "rds-ssh-port", env: "RDS_SSH_PORT", description: "SSH port of the RDS", default: 22, min: 1, max: 65_535 }),
    rdsUser: stringSetting({
      flag: "rds-user",
      env: "RDS_USER",
      description: "RouterOS user; may carry console options, e.g. admin+ct200w",
      default: "admin",
    }),
    rdsPrivateKeyFile: stringSetting({
      flag: "rds-private-key-file",
      env: "RDS_PRIVATE_KEY_FILE",
      description: "file holding the SSH private key (ed25519, ECDSA or RSA), read once at start; its content is never logged",
    }),
    rdsPrivateKeyPassphraseFile: optionalStringSetting({
      flag: "rds-private-key-passphrase-file",
      env: "RDS_PRIVATE_KEY_PASSPHRASE_FILE",
      description: "file holding the passphrase of an encrypted private key, read once at start",
    }),
    rdsHostKeyFingerprint: optionalStringSetting({
      flag: "rds-host-key-fingerprint",
      env: "RDS_HOST_KEY_FINGERPRINT",
      description: "the RDS's SSH host key as `ssh-keygen -lf` prints it (SHA256:...); one of the three host key settings is required",
    }),
    rdsKnownHostsFile: optionalStringSetting({
      flag: "rds-known-hosts-file",
      env: "RDS_KNOWN_HOSTS_FILE",
      description: "OpenSSH known_hosts file holding the RDS's host key (e.g. ssh-keyscan output); alternative to the fingerprint",
    }),
    rdsInsecureSkipHostKeyCheck: boolSetting({
      flag: "rds-insecure-skip-host-key-check",
      env: "RDS_INSECURE_SKIP_HOST_KEY_CHECK",
      description: "accept any SSH host key (labs only: anyone on the path can then act as the RDS)",
      default: false,
    }),
  };
}

/** Where the driver's disks live on the RDS and how their exports are named; see VolumeLayout. */
export function volumeLayoutSettings() {
  return {
    basePath: {
      ...stringSetting({
        flag: "rds-base-path",
        env: "RDS_BASE_PATH",
        description: "directory on the RDS holding the volume files; its first component is the pool whose free space is reported",
        default: DEFAULT_BASE_PATH,
      }),
      parse(raw: string): string {
        // VolumeLayout holds the one rule for base paths.
        return new VolumeLayout({ basePath: raw, nqnPrefix: DEFAULT_NQN_PREFIX }).basePath;
      },
    } satisfies Setting<string>,
    nqnPrefix: {
      ...stringSetting({
        flag: "nqn-prefix",
        env: "NQN_PREFIX",
        description: "NQN of a volume's export is <prefix>:<volume id>; keep the default for volumes of the earlier Go driver",
        default: DEFAULT_NQN_PREFIX,
      }),
      parse(raw: string): string {
        return new VolumeLayout({ basePath: DEFAULT_BASE_PATH, nqnPrefix: raw }).nqnPrefix;
      },
    } satisfies Setting<string>,
  };
}

export type RdsConnectionSettings = ReturnType<typeof rdsConnectionSettings>;

/** Everything an SSH transport needs to reach one RDS, with the files the settings name already read. */
export interface RdsConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly auth: SshAuth;
  readonly hostKey: HostKeyPolicy;
}

/**
 * Reads the key, passphrase and known_hosts files, checks that exactly one host key rule is chosen
 * and that the key and the host key rule are usable. Every problem is a `ConfigError` naming the
 * setting (start-up exits 2, as for any bad setting); a file's content never appears in a message.
 */
export async function resolveRdsConnection(config: ConfigOf<RdsConnectionSettings>): Promise<RdsConnection> {
  const settings = rdsConnectionSettings();
  try {
    const hostKey = await hostKeyPolicy(config, settings);
    checkHostKeyPolicy(hostKey, config, settings);
    const privateKey = await readSettingFile(config.rdsPrivateKeyFile, settings.rdsPrivateKeyFile);
    const passphrase =
      config.rdsPrivateKeyPassphraseFile === ""
        ? undefined
        : (await readSettingFile(config.rdsPrivateKeyPassphraseFile, settings.rdsPrivateKeyPassphraseFile)).trimEnd();
    const problem = privateKeyProblem(privateKey, passphrase);
    if (problem !== undefined) {
      throw new InvalidArgumentError(`${settingName(settings.rdsPrivateKeyFile)}: "${config.rdsPrivateKeyFile}" ${problem}`);
    }
    return {
      host: config.rdsAddress,
      port: config.rdsSshPort,
      username: config.rdsUser,
      auth: passphrase === undefined ? { privateKey } : { privateKey, passphrase },
      hostKey,
    };
  } catch (err) {
    if (err instanceof InvalidArgumentError && !(err instanceof ConfigError)) throw new ConfigError([err.message]);
    throw err;
  }
}

/** Exactly one way of trusting the RDS's host key; skipping the check must be asked for by name. */
async function hostKeyPolicy(config: ConfigOf<RdsConnectionSettings>, settings: RdsConnectionSettings): Promise<HostKeyPolicy> {
  const chosen = [config.rdsHostKeyFingerprint !== "", config.rdsKnownHostsFile !== "", config.rdsInsecureSkipHostKeyCheck].filter(Boolean);
  if (chosen.length !== 1) {
    throw new InvalidArgumentError(
      `set exactly one of ${settingName(settings.rdsHostKeyFingerprint)}, ${settingName(settings.rdsKnownHostsFile)} ` +
        `and ${settingName(settings.rdsInsecureSkipHostKeyCheck)}; ${chosen.length === 0 ? "none is" : "several are"} set`,
    );
  }
  if (config.rdsHostKeyFingerprint !== "") return { fingerprint: config.rdsHostKeyFingerprint };
  if (config.rdsKnownHostsFile !== "") return { knownHosts: await readSettingFile(config.rdsKnownHostsFile, settings.rdsKnownHostsFile) };
  return { insecureSkip: true };
}

/** The transport builds the same verifier; building it here reports a bad rule as a bad setting, before anything starts. */
function checkHostKeyPolicy(policy: HostKeyPolicy, config: ConfigOf<RdsConnectionSettings>, settings: RdsConnectionSettings): void {
  try {
    createHostKeyVerifier(policy, { host: config.rdsAddress, port: config.rdsSshPort });
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    const setting = "knownHosts" in policy ? settings.rdsKnownHostsFile : settings.rdsHostKeyFingerprint;
    throw new InvalidArgumentError(`${settingName(setting)}: ${err.message}`, { cause: err });
  }
}

async function readSettingFile(path: string, setting: Setting<unknown>): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    // readFile rejects with a system error (ENOENT, EACCES, EISDIR); its code says enough.
    throw new InvalidArgumentError(`${settingName(setting)}: cannot read "${path}" (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
}
