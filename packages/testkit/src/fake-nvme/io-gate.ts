import { spawn, type ChildProcess } from "node:child_process";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runTool } from "./loop-devices.js";

/**
 * What I/O on a namespace does, as the kernel decides it:
 * - "pass": a live path;
 * - "queue": no live path, but a controller is reconnecting: requests wait (multipath.c
 *   nvme_available_path → the head's requeue list; without multipath fabrics.c
 *   nvmf_fail_nonready_command returns BLK_STS_RESOURCE and the block layer retries) until a path
 *   comes back;
 * - "fail": no path left (the controller was deleted: ctrl_loss_tmo expired or a disconnect): queued and
 *   new requests end with an I/O error (core.c nvme_ns_remove → blk_mark_disk_dead; multipath.c
 *   nvme_mpath_remove_disk / nvme_kick_requeue_lists).
 */
export type IoMode = "pass" | "queue" | "fail";

/**
 * A small FUSE filesystem (Debian fuse3 + python3-fusepy, scripts/install-deps.sh) that shows each
 * namespace's backing file under an alias of its own and passes, holds or fails every read, write and
 * fsync of it by the alias's mode. A loop device over the alias then behaves like the namespace's disk:
 * its I/O blocks while the kernel reconnects and fails with EIO once no path is left, which a loop
 * device over the plain file (and this machine without device-mapper) cannot do. `direct_io` and zero
 * attribute timeouts keep FUSE from answering from its own caches.
 *
 * Control is a file in the mount, `.control`, one tab-separated command per line (`map <alias> <file>`,
 * `mode <alias> <mode>`, `pass-all`), so the `nvme` program and the test process can both steer it.
 */
const GATE_PY = String.raw`
import errno, os, sys, threading
from fusepy import FUSE, FuseOSError, Operations

class Gate(Operations):
    def __init__(self):
        self.files = {}
        self.modes = {}
        self.cond = threading.Condition()

    def getattr(self, path, fh=None):
        if path == '/':
            return dict(st_mode=0o40755, st_nlink=2)
        if path == '/.control':
            return dict(st_mode=0o100600, st_nlink=1, st_size=0)
        with self.cond:
            backing = self.files.get(path[1:])
        if backing is None:
            raise FuseOSError(errno.ENOENT)
        return dict(st_mode=0o100600, st_nlink=1, st_size=os.stat(backing).st_size)

    def readdir(self, path, fh):
        with self.cond:
            return ['.', '..', '.control'] + list(self.files)

    def open(self, path, flags):
        if path == '/.control':
            return 0
        with self.cond:
            backing = self.files.get(path[1:])
        if backing is None:
            raise FuseOSError(errno.ENOENT)
        return os.open(backing, os.O_RDWR)

    def truncate(self, path, length, fh=None):
        if path == '/.control':
            return 0
        raise FuseOSError(errno.EPERM)

    def gate(self, path):
        with self.cond:
            while self.modes.get(path[1:]) == 'queue':
                self.cond.wait()
            if self.modes.get(path[1:]) == 'fail':
                raise FuseOSError(errno.EIO)

    def read(self, path, size, offset, fh):
        self.gate(path)
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        if path == '/.control':
            with self.cond:
                for line in data.decode().splitlines():
                    words = line.split('\t')
                    if words[0] == 'map':
                        self.files[words[1]] = words[2]
                        self.modes[words[1]] = 'pass'
                    elif words[0] == 'mode':
                        self.modes[words[1]] = words[2]
                    elif words[0] == 'pass-all':
                        self.modes = {alias: 'pass' for alias in self.modes}
                self.cond.notify_all()
            return len(data)
        self.gate(path)
        return os.pwrite(fh, data, offset)

    def fsync(self, path, datasync, fh):
        if path == '/.control':
            return 0
        self.gate(path)
        os.fsync(fh)
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        if path != '/.control':
            os.close(fh)
        return 0

FUSE(Gate(), sys.argv[1], foreground=True, nothreads=False, direct_io=True, attr_timeout=0, entry_timeout=0, negative_timeout=0)
`;

const PYTHON = "/usr/bin/python3";
const START_TIMEOUT_MS = 10_000;

/** The gate's daemon and mount point, owned by the test process (FakeFabric). */
export class IoGate {
  private constructor(
    readonly mountPoint: string,
    private readonly daemon: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /** Mounts a gate at `<dir>/io-gate`; throws naming what is missing when FUSE or fusepy is not installed. */
  static async start(dir: string): Promise<IoGate> {
    const mountPoint = join(dir, "io-gate");
    await mkdir(mountPoint, { recursive: true });
    const script = join(dir, "io-gate.py");
    await writeFile(script, GATE_PY);
    let stderr = "";
    const daemon = spawn(PYTHON, [script, mountPoint], { stdio: ["ignore", "ignore", "pipe"] });
    daemon.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exited = new Promise<void>((resolve) => daemon.once("exit", () => resolve()));
    const gate = new IoGate(mountPoint, daemon, exited);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await isMounted(mountPoint))) {
      if (daemon.exitCode !== null || Date.now() > deadline) {
        await gate.stop();
        throw new Error(`fake fabric: the FUSE I/O gate did not mount (needs /dev/fuse, fuse3 and python3-fusepy): ${stderr.trim()}`);
      }
      await sleep(20);
    }
    return gate;
  }

  /** Lets every held request through, unmounts (lazily: a leaked loop device may still hold a file) and ends the daemon. */
  async stop(): Promise<void> {
    await control(this.mountPoint, ["pass-all"]).catch(() => undefined);
    if (await isMounted(this.mountPoint)) await runTool("umount", ["--lazy", this.mountPoint]).catch(() => undefined);
    const late = setTimeout(() => this.daemon.kill("SIGKILL"), 5_000);
    if (this.daemon.exitCode === null) this.daemon.kill("SIGTERM");
    await this.exited;
    clearTimeout(late);
    await rm(this.mountPoint, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Shows `file` as `<gate>/<alias>` (passing I/O) and returns that path. */
export async function gateFile(gate: string, alias: string, file: string): Promise<string> {
  if (/[\t\n/]/.test(alias) || /[\t\n]/.test(file)) throw new Error(`fake fabric: unusable gate alias or file ${JSON.stringify(alias)} ${JSON.stringify(file)}`);
  await control(gate, ["map", alias, file]);
  return join(gate, alias);
}

export async function setIoMode(gate: string, alias: string, mode: IoMode): Promise<void> {
  await control(gate, ["mode", alias, mode]);
}

async function control(gate: string, words: readonly string[]): Promise<void> {
  await appendFile(join(gate, ".control"), `${words.join("\t")}\n`);
}

async function isMounted(path: string): Promise<boolean> {
  const table = await readFile("/proc/self/mountinfo", "utf8");
  return table.split("\n").some((line) => line.split(" ")[4] === path);
}
