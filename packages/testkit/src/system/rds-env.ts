/** What a service needs to reach the RDS (the simulator, in process or as `rds-sim`). */
export interface RdsEndpoint {
  readonly port: number;
  readonly hostKeyFingerprint: string;
}

/** Where the rigs' volumes live on the simulated RDS (its pool `raid10`). */
export const RIG_BASE_PATH = "/raid10/csi";

/**
 * The settings a service process reads to reach the simulated RDS at 127.0.0.1 with the private key
 * in `keyFile`, trusting its host key, with volumes under `basePath`.
 */
export function rdsEnv(rds: RdsEndpoint, keyFile: string, basePath = RIG_BASE_PATH): Record<string, string> {
  return {
    RDS_ADDRESS: "127.0.0.1",
    RDS_SSH_PORT: String(rds.port),
    RDS_PRIVATE_KEY_FILE: keyFile,
    RDS_HOST_KEY_FINGERPRINT: rds.hostKeyFingerprint,
    RDS_BASE_PATH: basePath,
  };
}
