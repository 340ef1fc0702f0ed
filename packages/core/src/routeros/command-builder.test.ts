import fc from "fast-check";
import { InvalidArgumentError } from "../errors.js";
import {
  addDisk,
  copyDisk,
  printDiskBySlot,
  printDisksUsingFile,
  printFile,
  printFileDisks,
  printFilesUnder,
  printPool,
  removeDisk,
  removeFile,
  resizeDisk,
  type RouterOsCommand,
  setAllowedHosts,
} from "./command-builder.js";
import { type CommandValue, type CommandWord, tokenizeCommand } from "../../test/routeros/fixtures/command-tokenizer.js";

const SLOT = "pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab";
const PATH = `/raid10/vols/${SLOT}.img`;
const NQN = `nqn.2000-02.com.mikrotik:${SLOT}`;
const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-0000-0000-000000000002";

describe("command builder: the commands of the protocol doc", () => {
  it.each<[string, RouterOsCommand, string, string, boolean]>([
    ["one disk", printDiskBySlot(SLOT), `/disk print terse where slot="${SLOT}"`, "disk-print", false],
    ["every file disk", printFileDisks(), '/disk print terse where type="file"', "disk-print", false],
    ["pool capacity", printPool("raid10"), '/disk print terse where mount-point="raid10"', "disk-print", false],
    [
      "create",
      addDisk({ slot: SLOT, filePath: PATH, sizeBytes: 10737418240n, export: { port: 4420, nqn: NQN }, comment: "rds-csi:v1 kind=volume" }),
      `/disk add type=file slot="${SLOT}" file-path="${PATH}" file-size=10737418240 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}" comment="rds-csi:v1 kind=volume"`,
      "disk-add",
      true,
    ],
    [
      "create admitting only the listed hosts",
      addDisk({ slot: SLOT, filePath: PATH, sizeBytes: 1n, export: { port: 4420, nqn: NQN, allowedHosts: [HOST_A, HOST_B] }, comment: "" }),
      `/disk add type=file slot="${SLOT}" file-path="${PATH}" file-size=1 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}" nvme-tcp-server-allow-host-name="${HOST_A},${HOST_B}" comment=""`,
      "disk-add",
      true,
    ],
    [
      "restore admitting only the listed hosts",
      copyDisk({ slot: SLOT, filePath: PATH, sourceSlot: "snap-1", sizeBytes: 1n, export: { port: 4420, nqn: NQN, allowedHosts: [HOST_A] }, comment: "" }),
      `/disk add type=file slot="${SLOT}" file-path="${PATH}" copy-from=[find slot="snap-1"] file-size=1 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}" nvme-tcp-server-allow-host-name="${HOST_A}" comment=""`,
      "disk-copy",
      true,
    ],
    [
      "create without export",
      addDisk({ slot: "scratch-1", filePath: "/raid10/scratch-1.img", sizeBytes: 1n, comment: "" }),
      '/disk add type=file slot="scratch-1" file-path="/raid10/scratch-1.img" file-size=1 comment=""',
      "disk-add",
      true,
    ],
    [
      "snapshot (a copy without export)",
      copyDisk({
        slot: "snap-1",
        filePath: "/raid10/snaps/snap-1.img",
        sourceSlot: SLOT,
        sizeBytes: 10737418240n,
        comment: "rds-csi:v1 kind=snapshot",
      }),
      `/disk add type=file slot="snap-1" file-path="/raid10/snaps/snap-1.img" copy-from=[find slot="${SLOT}"] file-size=10737418240 comment="rds-csi:v1 kind=snapshot"`,
      "disk-copy",
      true,
    ],
    [
      "restore (a copy with export)",
      copyDisk({
        slot: SLOT,
        filePath: PATH,
        sourceSlot: "snap-1",
        sizeBytes: 21474836480n,
        export: { port: 4420, nqn: NQN },
        comment: "rds-csi:v1 kind=volume",
      }),
      `/disk add type=file slot="${SLOT}" file-path="${PATH}" copy-from=[find slot="snap-1"] file-size=21474836480 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}" comment="rds-csi:v1 kind=volume"`,
      "disk-copy",
      true,
    ],
    ["resize", resizeDisk(SLOT, 21474836480n), `/disk set [find slot="${SLOT}"] file-size=21474836480`, "disk-resize", true],
    [
      "export access",
      setAllowedHosts(SLOT, [HOST_A, HOST_B]),
      `/disk set [find slot="${SLOT}"] nvme-tcp-server-allow-host-name="${HOST_A},${HOST_B}"`,
      "disk-set-allowed-hosts",
      true,
    ],
    [
      "export access for any host",
      setAllowedHosts(SLOT, []),
      `/disk set [find slot="${SLOT}"] nvme-tcp-server-allow-host-name=""`,
      "disk-set-allowed-hosts",
      true,
    ],
    ["remove disk", removeDisk(SLOT), `/disk remove [find slot="${SLOT}"]`, "disk-remove", true],
    ["disks using a file", printDisksUsingFile(PATH), `/disk print terse where file-path="/raid10/vols/${SLOT}.img"`, "disk-print", false],
    ["one file", printFile(PATH), `/file print terse where name="raid10/vols/${SLOT}.img"`, "file-print", false],
    [
      "files under a directory, regex metacharacters escaped",
      printFilesUnder("/raid10/vols.d/v1"),
      String.raw`/file print terse where name~"^raid10/vols\\.d/v1/"`,
      "file-print",
      false,
    ],
    ["remove file", removeFile(PATH), `/file remove [find name="raid10/vols/${SLOT}.img"]`, "file-remove", true],
  ])("%s", (_, command, text, verb, mutates) => {
    expect(command).toEqual({ text, verb, mutates });
  });

  it("hands the regex engine an escaped dot once RouterOS has decoded the string", () => {
    const [, , , , where] = tokenizeCommand(printFilesUnder("/raid10/vols.d").text);
    expect(where).toEqual({ kind: "arg", name: "name", op: "~", value: { kind: "string", text: String.raw`^raid10/vols\.d/` } });
    expect(new RegExp(String.raw`^raid10/vols\.d/`).test("raid10/volsXd/a.img")).toBe(false);
  });

  it.each<[string, () => RouterOsCommand, RegExp]>([
    ["a slot with a quote", () => printDiskBySlot('pvc-1" ; /system reboot ; "'), /invalid slot "pvc-1" ; \/system reboot ; "": must be/],
    ["a source slot with brackets", () => copyDisk({ slot: "a", filePath: "/p/a.img", sourceSlot: "x] [find", sizeBytes: 1n, comment: "" }), /invalid slot/],
    ["a relative path", () => printFile("raid10/x.img"), /invalid file path "raid10\/x.img": must be absolute/],
    ["a path with ..", () => removeFile("/raid10/../etc/passwd"), /invalid file path/],
    ["a directory with a trailing slash", () => printFilesUnder("/raid10/vols/"), /invalid file path/],
    ["a pool with a slash", () => printPool("raid10/vols"), /invalid pool "raid10\/vols"/],
    ["a zero size", () => resizeDisk("a", 0n), /invalid size 0/],
    ["a size past 2^63-1", () => resizeDisk("a", 2n ** 63n), /invalid size 9223372036854775808/],
    ["port 0", () => addDisk({ slot: "a", filePath: "/p/a.img", sizeBytes: 1n, export: { port: 0, nqn: NQN }, comment: "" }), /invalid port 0/],
    ["a bad NQN", () => addDisk({ slot: "a", filePath: "/p/a.img", sizeBytes: 1n, export: { port: 1, nqn: "nqn.x" }, comment: "" }), /invalid NQN "nqn.x"/],
    ["a bad host NQN", () => setAllowedHosts("a", [HOST_A, "$(reboot)"]), /invalid host NQN "\$\(reboot\)"/],
    ["a comment with a newline", () => addDisk({ slot: "a", filePath: "/p/a.img", sizeBytes: 1n, comment: "a\nb" }), /invalid comment "a\\nb"/],
  ])("refuses %s with InvalidArgumentError naming the kind", (_, build, message) => {
    expect(build).toThrow(InvalidArgumentError);
    expect(build).toThrow(message);
  });
});

// ---- Property: no input can change a command's structure ----

const NASTY = ['"', "\\", "$", "?", "[", "]", "{", "}", "(", ")", ";", "=", "~", " ", "\n", "\r", "\t", "\0", "\x7f", "é", "€", "😀", "\u2028", "/", ".", "..", "-", ":", ",", "#"];

const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "binary-ascii", maxLength: 300 }),
  fc.string({ unit: fc.oneof(fc.constantFrom(...NASTY), fc.constantFrom(..."aZ09-._")), maxLength: 300 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 50 }),
);

/**
 * Mostly valid values (a command has up to six and is built only when all are valid), the rest the
 * same with something nasty spliced in or arbitrary text.
 */
function around<T>(valid: fc.Arbitrary<T>, nasty: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: nasty, weight: 3 });
}

function aroundText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return around(
    valid,
    fc.oneof(
      fc.tuple(valid, fc.constantFrom(...NASTY), valid).map(([a, b, c]) => a + b + c),
      fc.tuple(valid, anyText).map(([a, b]) => a + b),
      anyText,
    ),
  );
}

const slotLike = aroundText(fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$/));
const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,30}$/);
const pathLike = aroundText(fc.array(segment, { minLength: 1, maxLength: 8 }).map((segments) => `/${segments.join("/")}`));
const nqnLike = aroundText(fc.stringMatching(/^nqn\.\d{4}-\d{2}\.[a-z0-9.-]{1,30}:[A-Za-z0-9._:-]{1,60}$/));
const commentLike = around(fc.string({ unit: "grapheme-ascii", maxLength: 255 }), fc.oneof(fc.string({ unit: "grapheme-ascii", minLength: 256 }), anyText));
const sizeLike = around(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }));
const portLike = around(fc.integer({ min: 1, max: 65535 }), fc.oneof(fc.integer(), fc.double()));

const word = (text: string): CommandWord => ({ kind: "word", text });
const str = (text: string): CommandValue => ({ kind: "string", text });
const bare = (text: string): CommandValue => ({ kind: "bare", text });
const arg = (name: string, value: CommandValue, op: "=" | "~" = "="): CommandWord => ({ kind: "arg", name, op, value });
const findSlot = (slot: string): CommandValue => ({ kind: "command", words: [word("find"), arg("slot", str(slot))] });
const exportArgs = (nvme: { port: number; nqn: string } | undefined): CommandWord[] =>
  nvme ? [arg("nvme-tcp-export", bare("yes")), arg("nvme-tcp-server-port", bare(String(nvme.port))), arg("nvme-tcp-server-nqn", str(nvme.nqn))] : [];

/** Either the builder refuses the input with InvalidArgumentError, or the command means exactly `expected()`. */
function holdsStructure(build: () => RouterOsCommand, expected: () => CommandWord[]): boolean {
  let command: RouterOsCommand;
  try {
    command = build();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return false;
  }
  expect(tokenizeCommand(command.text)).toEqual(expected());
  return true;
}

const RUNS = 1000;

/** Checks the property for generated inputs, and that enough of them were valid for it to mean something. */
function assertStructure<T>(inputs: fc.Arbitrary<T>, build: (input: T) => RouterOsCommand, expected: (input: T) => CommandWord[]): void {
  let built = 0;
  fc.assert(
    fc.property(inputs, (input) => {
      if (holdsStructure(() => build(input), () => expected(input))) built++;
    }),
    { numRuns: RUNS },
  );
  expect(built).toBeGreaterThan(RUNS / 10);
}

const nvmeLike = fc.option(fc.record({ port: portLike, nqn: nqnLike }), { nil: undefined });

describe("command builder: no input changes a command's structure", () => {
  it("printDiskBySlot", () => {
    assertStructure(slotLike, printDiskBySlot, (slot) => [word("/disk"), word("print"), word("terse"), word("where"), arg("slot", str(slot))]);
  });

  it("printPool", () => {
    assertStructure(aroundText(segment), printPool, (pool) => [
      word("/disk"),
      word("print"),
      word("terse"),
      word("where"),
      arg("mount-point", str(pool)),
    ]);
  });

  it("addDisk", () => {
    assertStructure(
      fc.record({ slot: slotLike, filePath: pathLike, sizeBytes: sizeLike, nvme: nvmeLike, comment: commentLike }),
      ({ nvme, ...args }) => addDisk({ ...args, ...(nvme ? { export: nvme } : {}) }),
      ({ slot, filePath, sizeBytes, nvme, comment }) => [
        word("/disk"),
        word("add"),
        arg("type", bare("file")),
        arg("slot", str(slot)),
        arg("file-path", str(filePath)),
        arg("file-size", bare(String(sizeBytes))),
        ...exportArgs(nvme),
        arg("comment", str(comment)),
      ],
    );
  });

  it("copyDisk", () => {
    assertStructure(
      fc.record({ slot: slotLike, filePath: pathLike, sourceSlot: slotLike, sizeBytes: sizeLike, nvme: nvmeLike, comment: commentLike }),
      ({ nvme, ...args }) => copyDisk({ ...args, ...(nvme ? { export: nvme } : {}) }),
      ({ slot, filePath, sourceSlot, sizeBytes, nvme, comment }) => [
        word("/disk"),
        word("add"),
        arg("type", bare("file")),
        arg("slot", str(slot)),
        arg("file-path", str(filePath)),
        arg("copy-from", findSlot(sourceSlot)),
        arg("file-size", bare(String(sizeBytes))),
        ...exportArgs(nvme),
        arg("comment", str(comment)),
      ],
    );
  });

  it("resizeDisk", () => {
    assertStructure(
      fc.record({ slot: slotLike, sizeBytes: sizeLike }),
      ({ slot, sizeBytes }) => resizeDisk(slot, sizeBytes),
      ({ slot, sizeBytes }) => [word("/disk"), word("set"), findSlotWord(slot), arg("file-size", bare(String(sizeBytes)))],
    );
  });

  it("setAllowedHosts", () => {
    assertStructure(
      fc.record({ slot: slotLike, hosts: fc.array(nqnLike, { maxLength: 4 }) }),
      ({ slot, hosts }) => setAllowedHosts(slot, hosts),
      ({ slot, hosts }) => [word("/disk"), word("set"), findSlotWord(slot), arg("nvme-tcp-server-allow-host-name", str(hosts.join(",")))],
    );
  });

  it("removeDisk", () => {
    assertStructure(slotLike, removeDisk, (slot) => [word("/disk"), word("remove"), findSlotWord(slot)]);
  });

  it("printFile", () => {
    assertStructure(pathLike, printFile, (path) => [word("/file"), word("print"), word("terse"), word("where"), arg("name", str(path.slice(1)))]);
  });

  it("printFilesUnder", () => {
    assertStructure(pathLike, printFilesUnder, (path) => [
      word("/file"),
      word("print"),
      word("terse"),
      word("where"),
      arg("name", str(`^${path.slice(1).replaceAll(".", "\\.")}/`), "~"),
    ]);
  });

  it("removeFile", () => {
    assertStructure(pathLike, removeFile, (path) => [
      word("/file"),
      word("remove"),
      { kind: "command", words: [word("find"), arg("name", str(path.slice(1)))] },
    ]);
  });

  it("refuses 10 KB values of every kind, with a message cut short", () => {
    const huge = fc.oneof(
      fc.string({ unit: "binary", minLength: 10_000, maxLength: 10_240 }),
      fc.string({ unit: "grapheme-ascii", minLength: 10_000, maxLength: 10_240 }),
      fc.integer({ min: 10_000, max: 10_240 }).map((length) => `/${"a".repeat(length)}`),
    );
    const builds = (text: string): Array<() => RouterOsCommand> => [
      () => printDiskBySlot(text),
      () => printPool(text),
      () => printFile(text),
      () => addDisk({ slot: "a", filePath: "/p/a.img", sizeBytes: 1n, export: { port: 1, nqn: text }, comment: "" }),
      () => addDisk({ slot: "a", filePath: "/p/a.img", sizeBytes: 1n, comment: text }),
      () => setAllowedHosts("a", [text]),
    ];
    fc.assert(
      fc.property(huge, (text) => {
        for (const build of builds(text)) {
          let message = "";
          try {
            build();
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidArgumentError);
            message = (err as Error).message;
          }
          expect(message).toMatch(/^invalid (slot|pool|file path|NQN|host NQN|comment) "/);
          expect(message.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 30 },
    );
  });
});

function findSlotWord(slot: string): CommandWord {
  return { kind: "command", words: [word("find"), arg("slot", str(slot))] };
}
