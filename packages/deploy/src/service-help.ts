import { execFile } from "node:child_process";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { repoRoot } from "./repo-root.js";

const execFileAsync = promisify(execFile);
const ROOT = repoRoot();

/** The three services and the node's self-check command, in the order the reference lists them. */
export const SERVICE_ENTRY_POINTS = [
  { name: "csi-controller", main: `${ROOT}packages/csi-controller/dist/main.js`, args: [] },
  { name: "csi-node", main: `${ROOT}packages/csi-node/dist/main.js`, args: [] },
  { name: "rds-csi-node selfcheck", main: `${ROOT}packages/csi-node/dist/main.js`, args: ["selfcheck"] },
  { name: "attachment-reconciler", main: `${ROOT}packages/attachment-reconciler/dist/main.js`, args: [] },
] as const;

/**
 * What each service prints for `--help` (run under this Node, with a deadline). A default that is this
 * machine's host name (the reconciler's leader identity falls back to it) is printed as `<host name>`,
 * so the reference is the same wherever it is generated.
 */
export async function servicesHelp(): Promise<{ name: string; help: string }[]> {
  const machine = `default "${hostname()}"`;
  return Promise.all(
    SERVICE_ENTRY_POINTS.map(async ({ name, main, args }) => {
      const { stdout } = await execFileAsync(process.execPath, [main, ...args, "--help"], { timeout: 20_000 });
      return { name, help: stdout.replaceAll(machine, 'default "<host name>"') };
    }),
  );
}
