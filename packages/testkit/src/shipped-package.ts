import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runToExit } from "./service-process.js";

const TEST_ONLY_PACKAGES = ["@rds-csi/testkit", "@rds-csi/rds-simulator"];
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface ShippedPackageExpectations {
  /** Absolute path of the package folder (the one holding package.json and dist/). */
  readonly packageDir: string;
  /**
   * For a service: command lines that must exit 0 when run from a `pnpm deploy --prod` folder, relative to
   * it (`dist/main.js` runs under this Node, anything else is a launcher). Each loads a different part of
   * the service, so an import missing from the deployed folder shows.
   */
  readonly deployedCommands?: readonly (readonly string[])[];
}

/**
 * What a production package ships: dist/ holds no test and nothing that imports a test-only package,
 * only what its entry points (dist/main.js, package.json's main/exports) reach, and package.json points
 * at files that exist. A service also starts from the folder `scripts/deploy-prod.sh` lays out, which is
 * what an image holds. Each production package's own test calls this with its folder.
 */
export function describeShippedPackage(expected: ShippedPackageExpectations): void {
  const manifest = JSON.parse(readFileSync(join(expected.packageDir, "package.json"), "utf8")) as PackageManifest;
  const dist = join(expected.packageDir, "dist");

  describe(`${manifest.name}: what ships`, () => {
    it("dist/ holds no test and nothing in it imports a test-only package", () => {
      const files = jsFilesUnder(dist);
      expect(files.length).toBeGreaterThan(0);
      expect(files.filter((file) => file.endsWith(".test.js")).map((file) => relative(dist, file))).toEqual([]);
      const offending = files.flatMap((file) =>
        importsOf(file)
          .filter((specifier) => TEST_ONLY_PACKAGES.some((name) => specifier === name || specifier.startsWith(`${name}/`)))
          .map((specifier) => `${relative(dist, file)} imports ${specifier}`),
      );
      expect(offending).toEqual([]);
    });

    it("dist/ holds only what its entry points reach", () => {
      const entries = entryPointsOf(manifest, expected.packageDir);
      expect(entries.length).toBeGreaterThan(0);
      const reached = reachableFrom(entries);
      // A module of types only compiles to an empty one (`export {};`): nothing to ship, nothing to run.
      const unreached = jsFilesUnder(dist).filter((file) => !reached.has(file) && !isEmptyModule(file));
      expect(unreached.map((file) => relative(dist, file))).toEqual([]);
    });

    it("package.json's main, types, exports and bin name files that exist", () => {
      const named = [manifest.main, manifest.types, ...exportTargets(manifest.exports), ...Object.values(manifest.bin ?? {})];
      const missing = named.filter((path): path is string => path !== undefined && !exists(join(expected.packageDir, path)));
      expect(missing).toEqual([]);
    });

    if (expected.deployedCommands) {
      const commands = expected.deployedCommands;
      it("starts from a pnpm deploy --prod folder, which holds no test code", async () => {
        const dir = await mkdtemp(join(tmpdir(), "rds-csi-deploy-"));
        try {
          const target = join(dir, "app");
          await promisify(execFile)("bash", [join(REPO_ROOT, "scripts/deploy-prod.sh"), manifest.name, target]);
          expect(readdirSync(target).filter((name) => ["src", "test", "dist-test"].includes(name))).toEqual([]);
          for (const [file, ...args] of commands) {
            const result = await runToExit(join(target, file!), args);
            expect({ command: [file, ...args].join(" "), code: result.code, stderr: result.stderr }).toEqual({
              command: [file, ...args].join(" "),
              code: 0,
              stderr: "",
            });
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }, 120_000);
    }
  });
}

interface PackageManifest {
  readonly name: string;
  readonly main?: string;
  readonly types?: string;
  readonly exports?: ExportsField;
  readonly bin?: Readonly<Record<string, string>>;
}
type ExportsField = string | { readonly [condition: string]: ExportsField };

function exportTargets(field: ExportsField | undefined): string[] {
  if (field === undefined) return [];
  if (typeof field === "string") return [field];
  return Object.values(field).flatMap(exportTargets);
}

/** dist/main.js for a service, and the JavaScript package.json names as what importers load. */
function entryPointsOf(manifest: PackageManifest, packageDir: string): string[] {
  const candidates = ["dist/main.js", manifest.main, ...exportTargets(manifest.exports)];
  const entries = candidates.filter((path): path is string => path?.endsWith(".js") === true).map((path) => resolve(packageDir, path));
  return [...new Set(entries)].filter(exists);
}

function reachableFrom(entries: readonly string[]): Set<string> {
  const reached = new Set<string>();
  const pending = [...entries];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue;
    reached.add(file);
    for (const specifier of importsOf(file)) if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier));
  }
  return reached;
}

/** Static imports and re-exports, side-effect imports and dynamic `import("…")` with a literal specifier. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((match) => match[1]!);
}

function isEmptyModule(file: string): boolean {
  const code = readFileSync(file, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "").trim();
  return code === "export {};";
}

function jsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".js"))
    .map((name) => join(dir, name))
    .sort();
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
