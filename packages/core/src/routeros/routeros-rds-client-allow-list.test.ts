import { PassThrough } from "node:stream";
import { InternalError } from "../errors.js";
import { createLogger } from "../observability/logger.js";
import { VolumeLayout } from "../volume/volume-layout.js";
import { NO_HOST_NQN } from "./export-allow-list.js";
import { RouterOsRdsClient } from "./routeros-rds-client.js";
import type { SshCommandResult, SshRunOptions, SshTransport } from "./ssh-transport.js";

/**
 * An RDS that drops the allow-list of a `/disk add` (none is known to; the simulator honours it) but
 * honours `/disk set`: a stand-in that keeps one disk whose allow-list only `/disk set` changes, so the
 * client's read-back after a create can be shown to catch an export left open to any host.
 */
const VOL = "pvc-00000000-0000-4000-8000-000000000003";
const layout = new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" });

class AllowListIgnoringAdd implements SshTransport {
  readonly state = "connected" as const;
  readonly commands: string[] = [];
  #exists = false;
  #allowList = "";

  async run(command: string, _options: SshRunOptions): Promise<SshCommandResult> {
    this.commands.push(command);
    if (command.startsWith("/disk add")) this.#exists = true;
    const set = /^\/disk set .* nvme-tcp-server-allow-host-name="([^"]*)"$/.exec(command);
    if (set) this.#allowList = set[1]!;
    const record = ` 1 Bt comment=rds-csi:v1 kind:volume type=file slot=${VOL} size=1 073 741 824 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:${VOL} nvme-tcp-server-allow-host-name=${this.#allowList} file-path=/raid10/csi/${VOL}.img\r\n`;
    const stdout = command.startsWith(`/disk print terse where slot="${VOL}"`) && this.#exists ? record : "";
    return { stdout, stderr: "", exitCode: 0 };
  }

  onStateChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

describe("RouterOsRdsClient: a new export asked to admit only named hosts", () => {
  it("fails the create loudly when the RDS reports it admits any host, closing the export first", async () => {
    const transport = new AllowListIgnoringAdd();
    const rds = new RouterOsRdsClient({
      transport,
      layout,
      copyStrategy: { name: "disk-copy-from", trust: "verified" },
      logger: createLogger({ level: "error", component: "test", stream: new PassThrough().resume() }),
    });
    const create = rds.createVolume({ id: VOL, sizeBytes: 1073741824n, port: 4420, allowedHosts: [NO_HOST_NQN] }, AbortSignal.timeout(5_000), { knownAbsent: true });
    await expect(create).rejects.toThrow(InternalError);
    await expect(create).rejects.toThrow(`the RDS created volume ${VOL} with an export admitting any host although the add named ${NO_HOST_NQN}`);
    expect(transport.commands.find((command) => command.startsWith("/disk add"))).toContain(`nvme-tcp-server-allow-host-name="${NO_HOST_NQN}"`);
    expect((await rds.getVolume(VOL, AbortSignal.timeout(5_000)))?.allowedHosts).toEqual([NO_HOST_NQN]);
  });
});
