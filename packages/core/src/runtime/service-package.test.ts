import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { readServicePackage } from "./service-package.js";

describe("readServicePackage", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-service-package-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function manifest(content: object): Promise<URL> {
    const path = join(dir, "package.json");
    await writeFile(path, JSON.stringify(content));
    return pathToFileURL(path);
  }

  it("takes the program from the one bin, the summary from the description and the version", async () => {
    const url = await manifest({ name: "@rds-csi/x", version: "1.2.3", description: "Does x.", bin: { "rds-csi-x": "./bin/rds-csi-x" } });
    expect(readServicePackage(url)).toEqual({ program: "rds-csi-x", summary: "Does x.", version: "1.2.3" });
  });

  it.each([
    [{ version: "1.0.0", description: "Does x." }, '"bin" must name exactly one command (the service\'s program), found 0'],
    [{ version: "1.0.0", description: "Does x.", bin: "./bin/x" }, '"bin" must name exactly one command'],
    [{ version: "1.0.0", description: "Does x.", bin: { a: "./a", b: "./b" } }, "found 2"],
    [{ version: "1.0.0", bin: { x: "./x" } }, '"description" must be a non-empty string'],
    [{ version: "1.0.0", description: " ", bin: { x: "./x" } }, '"description" must be a non-empty string'],
    [{ description: "Does x.", bin: { x: "./x" } }, '"version" must be a non-empty string'],
  ])("refuses %j, naming the file and the field", async (content, problem) => {
    const url = await manifest(content);
    expect(() => readServicePackage(url)).toThrow(problem);
    expect(() => readServicePackage(url)).toThrow(join(dir, "package.json"));
  });
});
