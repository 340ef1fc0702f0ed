import type { FabricState } from "./fabric-state.js";
import { connectOutput, jsonC, listSubsysJson, listSubsysText } from "./nvme-output.js";

const state: FabricState = {
  version: 1,
  nextCntlid: 3,
  subsystems: [
    {
      instance: 0, nqn: "nqn.a", backingFile: "/f", targetGeneration: 0,
      namespace: { nsid: 1, instance: 1, uuid: "u", eui64: undefined, disk: "nvme0n1", diskController: undefined, loopDevice: "/dev/loop0", major: 7, minor: 0, sectors: 2048 },
    },
  ],
  controllers: [
    {
      instance: 0, subsystem: 0, nqn: "nqn.a", hostNqn: "host-1", hostId: "id-1", transport: "tcp", traddr: "10.0.0.1", trsvcid: "4420",
      cntlid: 1, ctrlLossTmo: undefined, reconnectDelay: undefined, keepAliveTmo: undefined, state: "live",
    },
    {
      instance: 2, subsystem: 0, nqn: "nqn.a", hostNqn: "host-1", hostId: "id-1", transport: "tcp", traddr: "10.0.0.2", trsvcid: "4420",
      cntlid: 2, ctrlLossTmo: undefined, reconnectDelay: undefined, keepAliveTmo: undefined, state: "connecting",
    },
  ],
};

describe("nvme-cli 2.3 output", () => {
  it("prints JSON as json-c's pretty printer", () => {
    expect(jsonC([])).toBe("[\n]\n");
    expect(connectOutput("nvme4", true)).toBe('{\n  "device":"nvme4"\n}\n');
    expect(connectOutput("nvme4", false)).toBe("device: nvme4\n");
  });

  it("lists subsystems per host with their paths", () => {
    expect(JSON.parse(listSubsysJson(state))).toEqual([
      {
        HostNQN: "host-1",
        HostID: "id-1",
        Subsystems: [
          {
            Name: "nvme-subsys0",
            NQN: "nqn.a",
            IOPolicy: "numa",
            Paths: [
              { Name: "nvme0", Transport: "tcp", Address: "traddr=10.0.0.1,trsvcid=4420", State: "live" },
              { Name: "nvme2", Transport: "tcp", Address: "traddr=10.0.0.2,trsvcid=4420", State: "connecting" },
            ],
          },
        ],
      },
    ]);
    expect(listSubsysJson(state)).toContain('\n    "HostNQN":"host-1",\n');
    expect(listSubsysText(state)).toBe(
      "nvme-subsys0 - NQN=nqn.a\n\\\n +- nvme0 tcp traddr=10.0.0.1,trsvcid=4420 live\n +- nvme2 tcp traddr=10.0.0.2,trsvcid=4420 connecting\n",
    );
    expect(JSON.parse(listSubsysJson(state, state.subsystems[0]))[0].Subsystems[0].Paths[0].ANAState).toBe("optimized");
  });
});
