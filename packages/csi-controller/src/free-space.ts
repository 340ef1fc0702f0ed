import { ResourceExhaustedError } from "@rds-csi/core";
import { type RdsClient } from "@rds-csi/core/routeros";

/**
 * Checked before anything is made: a disk the pool cannot hold fails cleanly here with the numbers an
 * operator needs, instead of half-way through on the RDS. The RDS still refuses a disk that no longer
 * fits when it runs the command (a concurrent create), and that is RESOURCE_EXHAUSTED too.
 */
export async function ensureFreeSpace(rds: RdsClient, neededBytes: bigint, what: string, signal: AbortSignal): Promise<void> {
  const { freeBytes } = await rds.capacity(signal);
  if (freeBytes < neededBytes) {
    throw new ResourceExhaustedError(`not enough free space on the RDS for ${what}: ${neededBytes} bytes requested, ${freeBytes} bytes free`);
  }
}
