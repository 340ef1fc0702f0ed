import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the resilience suite writes one JSON line per injected fault; `.ci/run` counts them into its
 * summary ("N fault kinds injected, N survived"). The repository's reports/ directory, beside jest's
 * own results.
 */
export const FAULT_LEDGER = fileURLToPath(new URL("../../../../reports/resilience.jsonl", import.meta.url));

export interface FaultRecord {
  /** The kind of fault, one per scenario (`rds-restart-during-create-burst`, …). */
  readonly fault: string;
  /** How many times it was injected in the scenario. */
  readonly injected: number;
  /** True when every check after it held: nothing lost, the system converged. */
  readonly survived: boolean;
  readonly seconds: number;
}

/**
 * Runs one fault scenario and writes its line to the ledger: survived when `scenario` returns (its
 * checks held), not survived when it throws (the error is rethrown for jest). `scenario` reports each
 * injection through `inject()`, so a scenario that never injected its fault cannot count as survived.
 */
export async function faultScenario(fault: string, scenario: (inject: () => void) => Promise<void>): Promise<void> {
  let injected = 0;
  const started = performance.now();
  const record = async (survived: boolean): Promise<void> => {
    const line: FaultRecord = { fault, injected, survived, seconds: (performance.now() - started) / 1000 };
    await mkdir(dirname(FAULT_LEDGER), { recursive: true });
    await appendFile(FAULT_LEDGER, `${JSON.stringify(line)}\n`);
  };
  try {
    await scenario(() => injected++);
  } catch (err) {
    await record(false);
    throw err;
  }
  if (injected === 0) {
    await record(false);
    throw new Error(`fault scenario ${fault} finished without injecting its fault`);
  }
  await record(true);
}
