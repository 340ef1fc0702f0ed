import type { csi } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";

/** ControllerGetCapabilities: the same set the handlers enforce. */
export async function controllerGetCapabilities(deps: ControllerDependencies): Promise<csi.ControllerGetCapabilitiesResponse> {
  return { capabilities: [...deps.capabilities].map((type) => ({ rpc: { type } })) };
}
