// The generated files cannot drift from their sources: the committed dashboard and configuration
// reference are exactly what the generator makes now, and the hand-written configuration page names
// only flags the services have.
import { readFile } from "node:fs/promises";
import { generatedFiles } from "../src/generated-files.js";
import { servicesHelp } from "../src/service-help.js";
import { parseHelp } from "../src/settings-reference.js";
import { REPO_ROOT } from "./support/repo.js";

test("each generated file is committed as the generator makes it (else run: pnpm --filter @rds-csi/deploy generate)", async () => {
  for (const [path, content] of Object.entries(await generatedFiles())) {
    expect({ path, upToDate: (await readFile(`${REPO_ROOT}${path}`, "utf8")) === content }).toEqual({ path, upToDate: true });
  }
});

test("the configuration reference lists every setting of every service", async () => {
  const reference = await readFile(`${REPO_ROOT}docs/configuration-reference.md`, "utf8");
  for (const { help } of await servicesHelp()) {
    const settings = parseHelp(help);
    expect(settings.length).toBeGreaterThan(5);
    for (const setting of settings) expect(reference).toContain(`| \`${setting.flag}\` | \`${setting.env}\` |`);
  }
});

test("docs/configuration.md names no flag the services do not have", async () => {
  const page = await readFile(`${REPO_ROOT}docs/configuration.md`, "utf8");
  const known = new Set((await servicesHelp()).flatMap(({ help }) => parseHelp(help).map((s) => s.flag)));
  known.add("--help");
  // The page's "Memory" section names the V8 options the launchers pass to node, not service settings.
  for (const v8 of ["--max-semi-space-size", "--max-old-space-size"]) known.add(v8);
  // A trailing "-" is a family of flags (`--rds-…`), not one flag.
  const named = [...new Set([...page.matchAll(/`(--[a-z0-9-]*[a-z0-9])\b(?!-)/g)].map((m) => m[1]!))];
  expect(named.filter((flag) => !known.has(flag))).toEqual([]);
});

test("the help parser refuses a flag block it cannot read", () => {
  expect(() => parseHelp("  --broken <x>\n      no env line\n")).toThrow("--broken");
});
