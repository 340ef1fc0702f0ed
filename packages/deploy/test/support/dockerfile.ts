/**
 * The part of the Dockerfile syntax our three Dockerfiles use (docs.docker.com/reference/dockerfile):
 * comments, `\` line continuations, ARG before the first FROM, `FROM image AS name`, and the instructions
 * WORKDIR, RUN, COPY [--from=stage], LABEL, USER, ENV, ENTRYPOINT (exec form). Anything else is refused, so a
 * new instruction cannot slip past the image test unread.
 */
export interface DockerStep {
  readonly instruction: "WORKDIR" | "RUN" | "COPY" | "LABEL" | "USER" | "ENV" | "ENTRYPOINT";
  readonly args: string;
}

export interface DockerStage {
  readonly name: string | undefined;
  /** the FROM image with ARGs substituted */
  readonly from: string;
  readonly steps: readonly DockerStep[];
}

export interface Dockerfile {
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly DockerStage[];
}

const STEP_INSTRUCTIONS = new Set(["WORKDIR", "RUN", "COPY", "LABEL", "USER", "ENV", "ENTRYPOINT"]);

export function parseDockerfile(text: string): Dockerfile {
  const lines: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const continued = raw.endsWith("\\");
    pending += continued ? `${raw.slice(0, -1)} ` : raw;
    if (continued) continue;
    if (pending.trim() !== "") lines.push(pending.trim());
    pending = "";
  }
  const args: Record<string, string> = {};
  const stages: { name: string | undefined; from: string; steps: DockerStep[] }[] = [];
  for (const line of lines) {
    const [, instruction = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = instruction.toUpperCase();
    if (upper === "ARG" && stages.length === 0) {
      const [name, value = ""] = rest.split("=", 2) as [string, string?];
      args[name] = value;
    } else if (upper === "FROM") {
      const [image = "", as, name] = rest.split(/\s+/);
      if (as !== undefined && as.toUpperCase() !== "AS") throw new Error(`FROM ${rest}: expected "AS <name>"`);
      stages.push({ name, from: image.replace(/\$\{(\w+)\}/g, (_m, arg: string) => args[arg] ?? ""), steps: [] });
    } else if (STEP_INSTRUCTIONS.has(upper) && stages.length > 0) {
      stages.at(-1)!.steps.push({ instruction: upper as DockerStep["instruction"], args: rest });
    } else {
      throw new Error(`unsupported Dockerfile line: ${line}`);
    }
  }
  return { args, stages };
}

/** LABEL key="value" pairs of a stage. */
export function labelsOf(stage: DockerStage): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const step of stage.steps.filter((s) => s.instruction === "LABEL")) {
    for (const [, key, value] of step.args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[key!] = value!;
  }
  return labels;
}

/**
 * .dockerignore patterns (docs.docker.com/build/concepts/context/#dockerignore-files): paths relative to
 * the context, `*` within one path segment, `**` across any number of them; a matched directory is
 * left out with everything under it.
 */
export function dockerIgnoreMatcher(text: string): (relativePath: string) => boolean {
  const patterns = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((pattern) => {
      if (pattern.startsWith("!")) throw new Error(`exception patterns are not supported: ${pattern}`);
      const source = pattern
        .replace(/^\/+/, "")
        .split("/")
        .map((segment) => (segment === "**" ? "(?:.*/)?" : `${segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}/`))
        .join("");
      return new RegExp(`^${source.replace(/\/$/, "")}$`);
    });
  return (relativePath) => patterns.some((pattern) => pattern.test(relativePath));
}
