import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { repoRoot } from "../../src/repo-root.js";

export const REPO_ROOT = repoRoot();
export const CHART_DIR = `${REPO_ROOT}charts/rds-csi`;
/** helm and kubectl, unpacked by scripts/install-deps.sh */
export const TOOLS_BIN = `${REPO_ROOT}.tools/bin`;

const execFileAsync = promisify(execFile);

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion with a deadline; a non-zero exit is a result, not a throw. */
export async function runTool(file: string, args: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code !== "number") throw err;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? failed.message };
  }
}
