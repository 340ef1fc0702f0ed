import {
  PluginCapability_Service_Type as Service,
  PluginCapability_VolumeExpansion_Type as VolumeExpansion,
  type PluginCapability,
} from "./generated/csi/v1/csi.js";

export interface PluginCapabilityConfig {
  /** Whether a topology segment is configured (controller: volumes carry it; node: it reports it). */
  readonly topology: boolean;
}

/**
 * GetPluginCapabilities of this driver, for the controller and the node alike. CSI spec
 * (GetPluginCapabilities): "all instances of the same version of a Plugin SHALL return the same set
 * of capabilities, regardless of both: (a) where instances are deployed on the cluster as well as;
 * (b) which RPCs an instance is serving". Conformance tools and sidecars read the node's answer to
 * decide whether ControllerPublish is called at all, so both services build the set here.
 */
export function pluginCapabilities(config: PluginCapabilityConfig): PluginCapability[] {
  return [
    { service: { type: Service.CONTROLLER_SERVICE } },
    ...(config.topology ? [{ service: { type: Service.VOLUME_ACCESSIBILITY_CONSTRAINTS } }] : []),
    { volumeExpansion: { type: VolumeExpansion.ONLINE } },
  ];
}
