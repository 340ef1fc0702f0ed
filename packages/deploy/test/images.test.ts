// The three Dockerfiles, without a Docker engine: each file is parsed, its build stage's steps (RUN, COPY,
// WORKDIR) run outside Docker in a scratch folder — the same commands, with the context copied as
// .dockerignore says — and the folder the final stage copies from the build is then started the way the
// image's ENTRYPOINT starts it: `--help`, then the service answering CSI Probe on its unix socket.
// The build stage is the same in all three files up to its last step (checked), so it runs once.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, rdsEnv, runToExit, startFakeApiServer, startServiceProcess, type FakeApiServer } from "@rds-csi/testkit";
import { dockerIgnoreMatcher, labelsOf, parseDockerfile, type Dockerfile, type DockerStep } from "./support/dockerfile.js";
import { REPO_ROOT } from "./support/repo.js";
import { COMPONENTS, SERVICES, type Component } from "./support/services.js";

const files = Object.fromEntries(COMPONENTS.map((c) => [c, parseDockerfile(execFileSync("cat", [`${REPO_ROOT}Dockerfile.${c}`], { encoding: "utf8" }))])) as Record<Component, Dockerfile>;
const buildStage = (c: Component) => files[c].stages.find((s) => s.name === "build")!;
const finalStage = (c: Component) => files[c].stages.at(-1)!;
const entrypointOf = (c: Component): string[] => JSON.parse(finalStage(c).steps.find((s) => s.instruction === "ENTRYPOINT")!.args) as string[];

describe("the Dockerfiles", () => {
  test.each(COMPONENTS)("%s: Node 20 base pinned by digest, in both stages", (component) => {
    expect(files[component].args.NODE_IMAGE).toMatch(/^node:20-bookworm-slim@sha256:[a-f0-9]{64}$/);
    expect(files[component].stages.map((s) => s.from)).toEqual([files[component].args.NODE_IMAGE, files[component].args.NODE_IMAGE]);
  });

  test.each(COMPONENTS)("%s: OCI labels", (component) => {
    const version = (JSON.parse(execFileSync("cat", [`${REPO_ROOT}packages/${SERVICES[component].pkg}/package.json`], { encoding: "utf8" })) as { version: string }).version;
    expect(labelsOf(finalStage(component))).toEqual({
      "org.opencontainers.image.title": expect.stringContaining("rds-csi"),
      "org.opencontainers.image.description": expect.any(String),
      "org.opencontainers.image.licenses": "Apache-2.0",
      "org.opencontainers.image.version": version,
      "org.opencontainers.image.base.name": "docker.io/library/node:20-bookworm-slim",
    });
  });

  test("controller and reconciler run as non-root; the node plugin as root (it mounts and runs nvme connect)", () => {
    const userOf = (c: Component) => finalStage(c).steps.find((s) => s.instruction === "USER")?.args;
    expect({ controller: userOf("controller"), node: userOf("node"), reconciler: userOf("reconciler") }).toEqual({ controller: "65532:65532", node: undefined, reconciler: "65532:65532" });
  });

  test("the node image installs the Debian package of every tool the plugin runs", () => {
    const install = finalStage("node").steps.find((s) => s.instruction === "RUN" && s.args.includes("apt-get install"))!.args;
    const packages = new Set(install.split("&&").find((part) => part.includes("apt-get install"))!.trim().split(/\s+/).filter((word) => !word.startsWith("-")).slice(2));
    // What the plugin executes (csi-node: nvme/, mount/exec-mounter.ts, mount/format.ts, mount/probe-filesystem.ts, mount/resize-filesystem.ts).
    const tools = ["nvme", "blkid", "mount", "umount", "mkfs.ext4", "mkfs.ext3", "mkfs.xfs", "resize2fs", "xfs_growfs"];
    // On this Debian (bookworm, the image's base too) the package that ships each tool; with usrmerge
    // dpkg may know a path without its /usr, so both are asked, in one dpkg call (it reads every file list).
    const paths = tools.map((tool) => execFileSync("sh", ["-c", `readlink -f "$(command -v ${tool})"`], { encoding: "utf8" }).trim());
    const query = spawnSync("dpkg", ["-S", ...paths.flatMap((path) => [path, path.replace(/^\/usr/, "")])], { encoding: "utf8" });
    const owners = new Map(query.stdout.split("\n").filter(Boolean).map((line) => { const [pkg, path] = line.split(": "); return [path!, pkg!.split(":")[0]!]; }));
    const owner = (tool: string): string => {
      const path = paths[tools.indexOf(tool)]!;
      const pkg = owners.get(path) ?? owners.get(path.replace(/^\/usr/, ""));
      if (pkg === undefined) throw new Error(`no Debian package ships ${tool} (${path})`);
      return pkg;
    };
    expect(tools.map((tool) => [tool, owner(tool)]).filter(([, pkg]) => !packages.has(pkg!))).toEqual([]);
  });

  test("in the node image, `rds-csi-node` (the launcher) is on PATH, so `kubectl exec ... -- rds-csi-node selfcheck` works", () => {
    const env = finalStage("node").steps.filter((s) => s.instruction === "ENV").map((s) => s.args);
    expect(env).toEqual(["PATH=/app/bin:$PATH"]);
    expect(entrypointOf("node")).toEqual(["/app/bin/rds-csi-node"]);
  });

  test("the build stages are the same up to the deploy step, which ships each file's own service", () => {
    const prefix = (c: Component) => buildStage(c).steps.slice(0, -1);
    expect(prefix("node")).toEqual(prefix("controller"));
    expect(prefix("reconciler")).toEqual(prefix("controller"));
    for (const c of COMPONENTS) expect(buildStage(c).steps.at(-1)!.args).toBe(`bash scripts/deploy-prod.sh @rds-csi/${SERVICES[c].pkg} .image/app`);
  });
});

describe("the build steps, run outside Docker", () => {
  let dir: string;
  let sim: RdsSimulator;
  let api: FakeApiServer;
  const apps = {} as Record<Component, string>;

  /** Runs one build-stage step with `/src` (the WORKDIR) mapped into the scratch folder. */
  async function runStep(step: DockerStep, workdir: string, context: string, env: NodeJS.ProcessEnv): Promise<void> {
    if (step.instruction === "WORKDIR") return;
    if (step.instruction === "COPY") {
      expect(step.args).toBe(". .");
      await cp(context, workdir, { recursive: true });
      // Seeds the compile step with what `pnpm build` made of these same sources (dist/ and its
      // .tsbuildinfo, timestamps kept): `tsc --build` still runs and checks every input the context
      // holds — a source .dockerignore dropped fails it — but re-emits nothing unchanged, which keeps
      // this test at seconds instead of the minute a cold compile takes on a loaded CI machine.
      for (const pkg of ["core", "csi-controller", "csi-node", "attachment-reconciler"]) {
        await cp(`${REPO_ROOT}packages/${pkg}/dist`, join(workdir, "packages", pkg, "dist"), { recursive: true, preserveTimestamps: true });
      }
      return;
    }
    expect(step.instruction).toBe("RUN");
    await new Promise<void>((resolve, reject) => {
      const child = spawn("sh", ["-c", step.args], { cwd: workdir, env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`RUN ${step.args} exited ${code}: ${stderr}`))));
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-images-"));
    // The build context as Docker sends it: the repository less what .dockerignore leaves out.
    const ignored = dockerIgnoreMatcher(await readFile(`${REPO_ROOT}.dockerignore`, "utf8"));
    const context = join(dir, "context");
    await cp(REPO_ROOT, context, { recursive: true, filter: (source) => source === REPO_ROOT.replace(/\/$/, "") || !ignored(relative(REPO_ROOT, source)) });
    const workdir = join(dir, "src");
    await mkdir(workdir);
    // `npm install --global` goes to a prefix inside the scratch folder, as it goes to the build stage's own /usr/local.
    const prefix = join(dir, "npm-global");
    const env = { ...process.env, npm_config_prefix: prefix, PATH: `${prefix}/bin:${process.env.PATH}`, CI: "true" };
    const steps = buildStage("controller").steps;
    expect(steps[0]).toEqual({ instruction: "WORKDIR", args: "/src" });
    for (const step of steps.slice(0, -1)) await runStep(step, workdir, context, env);
    for (const component of COMPONENTS) {
      await runStep(buildStage(component).steps.at(-1)!, workdir, context, env);
      // COPY --from=build /src/.image/app /app
      const copy = finalStage(component).steps.find((s) => s.instruction === "COPY")!.args;
      expect(copy).toBe("--from=build /src/.image/app /app");
      apps[component] = join(dir, component, "app");
      // As COPY does: pnpm's relative symlinks stay as they are (fs.cp would make them absolute).
      await cp(join(workdir, ".image/app"), apps[component], { recursive: true, verbatimSymlinks: true });
      await rm(join(workdir, ".image"), { recursive: true });
    }
    const key = generateEd25519KeyPair();
    await writeFile(join(dir, "id_ed25519"), key.private, { mode: 0o600 });
    sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "10G" });
    api = await startFakeApiServer();
    api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
    await writeFile(join(dir, "kubeconfig"), api.kubeConfig().exportConfig());
  }, 300_000);

  afterAll(async () => {
    await api?.stop();
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The ENTRYPOINT with /app mapped to the built folder: a launcher script, or node and a .js file. */
  const entry = (c: Component): string => {
    const [first, second] = entrypointOf(c);
    return (first === "node" ? second! : first!).replace(/^\/app/, apps[c]);
  };

  test("the context leaves out what the build makes again and keeps what it needs", async () => {
    const top = await readdir(join(dir, "context"));
    expect(top).toEqual(expect.arrayContaining(["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", "packages", "proto", "scripts", "tsconfig.base.json"]));
    expect(top.filter((name) => ["node_modules", ".git", ".tools", "charts", "docs"].includes(name))).toEqual([]);
    expect(await readdir(join(dir, "context/packages/core"))).not.toContain("dist");
  });

  test.each(COMPONENTS)("the %s folder holds its service, production dependencies only", async (component) => {
    const modules = await readdir(join(apps[component], "node_modules"));
    expect(modules).toContain("@rds-csi");
    expect(await readdir(join(apps[component], "node_modules/@rds-csi"))).toEqual(["core"]);
    for (const devOnly of ["typescript", "jest", "@kubernetes"]) expect(modules).not.toContain(devOnly);
  });

  test("the node folder's launcher runs the self-check command (its --help)", async () => {
    const result = await runToExit(join(apps.node, "bin/rds-csi-node"), ["selfcheck", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--rds-address");
  });

  test.each(COMPONENTS)("the %s starts from its folder: --help", async (component) => {
    const result = await runToExit(entry(component), ["--help"]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^Usage: rds-csi-/);
  });

  test.each(COMPONENTS)("the %s starts from its folder and answers Probe on its unix socket", async (component) => {
    const rds = rdsEnv(sim, join(dir, "id_ed25519"));
    const env: Record<Component, NodeJS.ProcessEnv> = {
      controller: { ...rds, KUBECONFIG: join(dir, "kubeconfig") },
      node: { NODE_ID: "n1", KUBECONFIG: join(dir, "kubeconfig"), ETC_DIR: join(dir, "etc"), SYSFS_ROOT: join(dir, "sys"), DEV_ROOT: join(dir, "dev"), KUBELET_DIR: join(dir, "kubelet") },
      reconciler: { ...rds, KUBECONFIG: join(dir, "kubeconfig"), POD_NAMESPACE: "kube-system", POD_NAME: "reconciler-0" },
    };
    for (const made of ["etc", "sys", "dev", "kubelet"]) await mkdir(join(dir, made), { recursive: true });
    const service = await startServiceProcess(entry(component), `unix://${join(dir, `${component}.sock`)}`, ["--metrics-address", "127.0.0.1:0"], env[component]);
    try {
      const { identity } = service.clients;
      const info = await callUnary(identity, identity.getPluginInfo, {});
      expect(info.name).toBe("rds.csi.srvlab.io");
      expect(await callUnary(identity, identity.probe, {})).toHaveProperty("ready");
    } finally {
      expect(await service.stop("SIGTERM")).toBe(0);
    }
  });
});
