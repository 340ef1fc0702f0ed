import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { CsiError, InvalidArgumentError } from "../../src/errors.js";
import { createLogger } from "../../src/observability/logger.js";
import { VolumeLayout } from "../../src/volume/volume-layout.js";
import { RouterOsRdsClient } from "../../src/routeros/routeros-rds-client.js";
import { Ssh2Transport } from "../../src/routeros/ssh2-transport.js";

// The only shapes of command the driver may ever send (docs/design/routeros-protocol.md). A value is a
// quoted RouterOS string; the grammar of what may appear inside is the validators' business, so here
// a quoted string is anything without an unescaped quote — the point is that no input escapes it.
const Q = String.raw`"(?:[^"\\]|\\.)*"`;
const N = String.raw`\d+`;
const EXPORT = `nvme-tcp-export=yes nvme-tcp-server-port=${N} nvme-tcp-server-nqn=${Q}`;
const ALLOWED = [
  `/disk print terse where slot=${Q}`,
  `/disk print terse where type="file"`,
  `/disk print terse where mount-point=${Q}`,
  `/disk print terse where file-path=${Q}`,
  `/disk add type=file slot=${Q} file-path=${Q} file-size=${N} ${EXPORT} comment=${Q}`,
  `/disk add type=file slot=${Q} file-path=${Q} copy-from=\\[find slot=${Q}\\] file-size=${N}(?: ${EXPORT})? comment=${Q}`,
  `/disk set \\[find slot=${Q}\\] file-size=${N}`,
  `/disk set \\[find slot=${Q}\\] nvme-tcp-server-allow-host-name=${Q}`,
  `/disk remove \\[find slot=${Q}\\]`,
  `/file print terse where name=${Q}`,
  `/file print terse where name~${Q}`,
  `/file remove \\[find name=${Q}\\]`,
].map((shape) => new RegExp(`^${shape}$`));

/** Strings that try everything: quotes, separators, brackets, `$`, newlines, unicode, long runs. */
const nasty = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."pvc-snap0123456789abcdef\"'\\;$[]{}()=~ \n\r\t?/.:,`|&<>*#é€😀\u0000\u202e") }),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.constant("pvc-x\"; /system reboot; :put \""),
  fc.constant("pvc-$(reboot)"),
  fc.constant(`pvc-${"a".repeat(10_000)}`),
);
const id = fc.oneof(nasty.map((s) => `pvc-${s}`), nasty, fc.uuid().map((u) => `pvc-${u}`));
const snapId = fc.oneof(nasty.map((s) => `snap-${s}`), fc.uuid().map((u) => `snap-${u}`));
const size = fc.bigInt({ min: -5n, max: 2n ** 64n });
const port = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.constantFrom(4420, Number.NaN, 1.5));

type Call = (client: RouterOsRdsClient, signal: AbortSignal) => Promise<unknown>;
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ id, sizeBytes: size, port }).map((spec): Call => (c, s) => c.createVolume(spec, s)),
  fc.record({ id, sourceId: fc.oneof(id, snapId), sizeBytes: size, port }).map((spec): Call => (c, s) => c.copyVolume(spec, s)),
  id.map((v): Call => (c, s) => c.getVolume(v, s)),
  id.map((v): Call => (c, s) => c.deleteVolume(v, s)),
  fc.tuple(id, size).map(([v, n]): Call => (c, s) => c.resizeVolume(v, n, s)),
  fc.tuple(id, fc.array(nasty, { maxLength: 3 })).map(([v, hosts]): Call => (c, s) => c.setAllowedHosts(v, hosts, s)),
  fc.record({ id: snapId, sourceVolumeId: id }).map((spec): Call => (c, s) => c.createSnapshot(spec, s)),
  snapId.map((v): Call => (c, s) => c.deleteSnapshot(v, s)),
);

describe("RdsClient fuzzing against the simulator", () => {
  let stateDir: string;
  let sim: RdsSimulator;
  let transport: Ssh2Transport;
  let client: RouterOsRdsClient;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "rds-csi-fuzz-"));
    const key = generateEd25519KeyPair();
    sim = await startSimulator({ stateDir, authorizedKeys: key.public, poolSize: "1T" });
    const logger = createLogger({ level: "error", component: "fuzz", stream: new PassThrough().resume() });
    transport = new Ssh2Transport({
      ...operatorLogin(sim, key.private),
      logger,
    });
    transport.start();
    client = new RouterOsRdsClient({
      transport,
      layout: new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" }),
      copyStrategy: { name: "disk-copy-from", trust: "unverified" },
      logger,
    });
  });

  afterAll(async () => {
    await transport.close();
    await sim.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("never sends a command outside the intended shapes, whatever the input", async () => {
    let rejectedBeforeSending = 0;
    await fc.assert(
      fc.asyncProperty(call, async (operation) => {
        try {
          await operation(client, AbortSignal.timeout(10_000));
        } catch (err) {
          // Bad input must be refused with a typed error (mostly InvalidArgument); never anything else.
          expect(err).toBeInstanceOf(CsiError);
          if (err instanceof InvalidArgumentError) rejectedBeforeSending += 1;
        }
      }),
      { numRuns: 3000, seed: 20261126 },
    );
    const log = sim.commandLog();
    const strays = log.filter((entry) => !ALLOWED.some((shape) => shape.test(entry.command)));
    expect(strays.map((entry) => entry.command.slice(0, 200))).toEqual([]);
    // The RDS never had to say it could not parse what we sent.
    expect(log.filter((entry) => /syntax error|expected end of command|bad command name/.test(entry.output))).toEqual([]);
    // Only disks with well-formed ids were ever created.
    expect(sim.disks().every((disk) => /^(pvc|snap)-[A-Za-z0-9-]+$/.test(disk.slot))).toBe(true);
    // Both sides of the property were exercised.
    expect(rejectedBeforeSending).toBeGreaterThan(500);
    expect(log.length).toBeGreaterThan(500);
    // 3,000 runs over real SSH take ~10 s on an idle 2-core machine; a loaded one needs more than jest's 30 s.
  }, 120_000);
});
