import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** What a service's package.json says about the program it ships. */
export interface ServicePackage {
  /** The one command its `bin` names: help, messages, log lines and its Kubernetes user agent use it. */
  readonly program: string;
  /** Its `description`: the line `--help` prints under the usage. */
  readonly summary: string;
  /** Its `version`: what GetPluginInfo reports and the start-up log line names. */
  readonly version: string;
}

/**
 * Reads the facts about a service from its package.json, so that the command name, its one-line
 * summary and its version are written once, where npm and `pnpm deploy` read them too. A package.json
 * that cannot say them (no single `bin`, no description, no version) is a packaging mistake: the
 * error names the file and the field.
 */
export function readServicePackage(packageJson: URL): ServicePackage {
  const path = fileURLToPath(packageJson);
  const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as { bin?: unknown; description?: unknown; version?: unknown };
  const bins = typeof manifest.bin === "object" && manifest.bin !== null ? Object.keys(manifest.bin) : [];
  if (bins.length !== 1) throw new Error(`${path}: "bin" must name exactly one command (the service's program), found ${bins.length}`);
  for (const field of ["description", "version"] as const) {
    const value = manifest[field];
    if (typeof value !== "string" || value.trim() === "") throw new Error(`${path}: "${field}" must be a non-empty string`);
  }
  return { program: bins[0] as string, summary: manifest.description as string, version: manifest.version as string };
}
