import { REPO_ROOT } from "./repo.js";

/** The three services, keyed by the chart's component name. */
export const SERVICES = {
  controller: { pkg: "csi-controller", container: "csi-controller", main: `${REPO_ROOT}packages/csi-controller/dist/main.js` },
  node: { pkg: "csi-node", container: "csi-node", main: `${REPO_ROOT}packages/csi-node/dist/main.js` },
  reconciler: { pkg: "attachment-reconciler", container: "attachment-reconciler", main: `${REPO_ROOT}packages/attachment-reconciler/dist/main.js` },
} as const;

export type Component = keyof typeof SERVICES;
export const COMPONENTS = Object.keys(SERVICES) as Component[];

/** The flags a service's `--help` lists (its settings definitions print them). */
export function flagsInHelp(help: string): Set<string> {
  return new Set([...help.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((match) => match[1]!));
}
