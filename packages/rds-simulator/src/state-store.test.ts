import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidStateError, type PersistedState, type StateChange } from "./persisted-state.js";
import { DEFAULT_SETTINGS } from "./settings.js";
import { StateStore } from "./state-store.js";

const state: PersistedState = {
  version: 1,
  hostKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
  pool: { name: "raid10", size: 1024 ** 4, fsUuid: "f", raidUuid: "r" },
  settings: { ...DEFAULT_SETTINGS, copyFrom: "data" },
  nextDiskId: 3,
  disks: [
    {
      id: 2,
      slot: "pvc-1",
      filePath: "/raid10/pvc-1.img",
      comment: "c",
      nvmeTcpExport: true,
      nvmeTcpServerPort: 4420,
      nvmeTcpServerNqn: "",
      nvmeTcpServerAllowHostName: "",
    },
  ],
  files: [{ name: "raid10/pvc-1.img", type: "file", size: 1024, lastModified: "2026-11-26T10:00:00.000Z" }],
};

describe("StateStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-sim-state-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads back what it wrote, leaves no temporary file and keeps the files private", async () => {
    const store = new StateStore(dir);
    expect(await store.load()).toBeUndefined();
    await store.save(state);
    expect(await store.load()).toEqual(state);
    expect((await readdir(dir)).sort()).toEqual(["state.journal", "state.json"]);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect((await stat(store.journalPath)).mode & 0o777).toBe(0o600);
  });

  it("keeps the order of saves: the last one called is the one on disk", async () => {
    const store = new StateStore(dir);
    await Promise.all([1, 2, 3, 4, 5].map((nextDiskId) => store.save({ ...state, nextDiskId })));
    expect((await store.load())?.nextDiskId).toBe(5);
  });

  it("lets a later save succeed after one failed", async () => {
    const store = new StateStore(join(dir, "missing"));
    await expect(store.save(state)).rejects.toThrow("ENOENT");
    const working = new StateStore(dir);
    await expect(working.save(state)).resolves.toBeUndefined();
  });

  it("refuses a file that is not JSON", async () => {
    await writeFile(join(dir, "state.json"), "{");
    await expect(new StateStore(dir).load()).rejects.toThrow(InvalidStateError);
  });

  it("reports a read error other than a missing file", async () => {
    const store = new StateStore(join(dir, "state.json", "nested"));
    await writeFile(join(dir, "state.json"), "{}");
    await expect(store.load()).rejects.toThrow("ENOTDIR");
  });

  it.each([
    ["an array", [], "state: expected an object"],
    ["another version", { ...state, version: 2 }, "state: unsupported version 2"],
    ["a bad setting", { ...state, settings: { copyFrom: "all" } }, "settings: copyFrom must be one of settings-only, data"],
    ["a disk without slot", { ...state, disks: [{ ...state.disks[0], slot: 1 }] }, "disks[0].slot: expected a string"],
    ["a negative size", { ...state, files: [{ ...state.files[0], size: -1 }] }, "files[0].size: expected a whole number >= 0"],
    ["an unknown file type", { ...state, files: [{ ...state.files[0], type: "link" }] }, 'files[0].type: expected "file" or "directory"'],
    ["a non-boolean export", { ...state, disks: [{ ...state.disks[0], nvmeTcpExport: "yes" }] }, "disks[0].nvmeTcpExport: expected true or false"],
    ["files that are not a list", { ...state, files: {} }, "files: expected an array"],
  ])("refuses %s, naming the field", async (_what, json, message) => {
    await writeFile(join(dir, "state.json"), JSON.stringify(json));
    await expect(new StateStore(dir).load()).rejects.toThrow(message);
  });

  const disk = state.disks[0]!;
  const file = state.files[0]!;
  const change = (n: number): Omit<StateChange, "seq"> => ({
    nextDiskId: 3 + n,
    disks: [{ ...disk, id: 2 + n, slot: `new-${n}`, filePath: `/raid10/new-${n}.img` }],
    removedDisks: [],
    files: [{ ...file, name: `raid10/new-${n}.img` }],
    removedFiles: [],
  });

  it("replays the journal of changes made since the snapshot", async () => {
    const store = new StateStore(dir);
    await store.save(state);
    await store.record(change(1), () => state);
    await store.record({ nextDiskId: 4, disks: [{ ...disk, comment: "changed" }], removedDisks: [3], files: [], removedFiles: ["raid10/new-1.img"] }, () => state);
    expect(await readFile(store.path, "utf8")).toBe(`${JSON.stringify({ ...state, journalSeq: 0 }, null, 2)}\n`);
    const loaded = await new StateStore(dir).load();
    expect(loaded).toEqual({ ...state, nextDiskId: 4, disks: [{ ...disk, comment: "changed" }] });
  });

  it("has the journal before the first change: created with the snapshot and on loading a saved state, never by an append", async () => {
    const store = new StateStore(dir);
    expect(await store.load()).toBeUndefined();
    expect(await readdir(dir)).toEqual([]); // nothing to journal against yet
    await store.save(state);
    expect((await stat(store.journalPath)).size).toBe(0);

    await rm(store.journalPath);
    const reloaded = new StateStore(dir);
    expect(await reloaded.load()).toEqual(state);
    expect((await stat(reloaded.journalPath)).size).toBe(0);

    // A journal that went away is not silently made again by an append; the next change writes a
    // snapshot instead, which brings the journal back.
    await rm(reloaded.journalPath);
    await expect(reloaded.record(change(1), () => state)).rejects.toThrow("ENOENT");
    const current = { ...state, nextDiskId: 5 };
    await reloaded.record(change(2), () => current);
    expect((await stat(reloaded.journalPath)).size).toBe(0);
    expect(await new StateStore(dir).load()).toEqual(current);
  });

  it("ignores a last journal line cut short by a crash, and refuses a broken line before it", async () => {
    const store = new StateStore(dir);
    await store.save(state);
    await store.record(change(1), () => state);
    await appendFile(store.journalPath, '{"seq":2,"nextDiskId"');
    expect((await new StateStore(dir).load())?.disks.map((item) => item.slot)).toEqual(["pvc-1", "new-1"]);
    await appendFile(store.journalPath, "\n");
    await expect(new StateStore(dir).load()).rejects.toThrow(`${store.journalPath} line 2: not JSON`);
  });

  it("skips journal lines the snapshot already holds (a crash between writing the snapshot and emptying the journal)", async () => {
    const store = new StateStore(dir);
    await store.save(state);
    await store.record(change(1), () => state);
    await store.record({ nextDiskId: 4, disks: [], removedDisks: [3], files: [], removedFiles: ["raid10/new-1.img"] }, () => state);
    const journal = await readFile(store.journalPath, "utf8");
    // A later snapshot that holds both lines; the old journal is still there.
    await store.save(state);
    await writeFile(store.journalPath, journal);
    const reloaded = new StateStore(dir);
    expect(await reloaded.load()).toEqual(state);
    // Numbering goes on after the last line seen, so new lines are not mistaken for old ones.
    await reloaded.record(change(5), () => state);
    expect((await new StateStore(dir).load())?.disks.map((item) => item.slot)).toEqual(["pvc-1", "new-5"]);
  });

  it("writes a snapshot instead of a line once the journal has outgrown it, and empties the journal", async () => {
    const store = new StateStore(dir);
    await store.save(state);
    let current: PersistedState = state;
    let compacted = 0;
    for (let n = 1; n <= 250; n++) {
      const next = change(n);
      current = { ...current, nextDiskId: next.nextDiskId, disks: [...current.disks, ...next.disks], files: [...current.files, ...next.files] };
      const now = current;
      await store.record(next, () => now);
      if ((await stat(store.journalPath)).size === 0) compacted++;
    }
    expect(compacted).toBeGreaterThan(0);
    expect((await stat(store.journalPath)).size).toBeLessThan((await stat(store.path)).size + 64 * 1024);
    const byName = [...current.files].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(await new StateStore(dir).load()).toEqual({ ...current, files: byName });
  });

  it("writes JSON a person can read", async () => {
    const store = new StateStore(dir);
    await store.save(state);
    expect(await readFile(store.path, "utf8")).toContain('\n  "version": 1,\n');
  });
});
