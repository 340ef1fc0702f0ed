import { csi } from "@rds-csi/core";
import { notServed } from "./capabilities.js";

/** ControllerModifyVolume: this driver has no mutable volume attributes, so MODIFY_VOLUME is never served. */
export async function controllerModifyVolume(): Promise<never> {
  throw notServed(csi.ControllerServiceCapability_RPC_Type.MODIFY_VOLUME, "ControllerModifyVolume");
}
