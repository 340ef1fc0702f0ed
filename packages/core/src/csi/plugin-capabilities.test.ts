import { PluginCapability_Service_Type as Service, PluginCapability_VolumeExpansion_Type as VolumeExpansion } from "./generated/csi/v1/csi.js";
import { pluginCapabilities } from "./plugin-capabilities.js";

describe("pluginCapabilities", () => {
  const online = { volumeExpansion: { type: VolumeExpansion.ONLINE } };

  it("is the controller service and online expansion, whichever service asks", () => {
    expect(pluginCapabilities({ topology: false })).toEqual([{ service: { type: Service.CONTROLLER_SERVICE } }, online]);
  });

  it("adds accessibility constraints when a topology segment is configured", () => {
    expect(pluginCapabilities({ topology: true })).toEqual([
      { service: { type: Service.CONTROLLER_SERVICE } },
      { service: { type: Service.VOLUME_ACCESSIBILITY_CONSTRAINTS } },
      online,
    ]);
  });
});
