import { InvalidArgumentError } from "../errors.js";
import type { ConfigOf, Setting, SettingSpecs } from "./settings.js";

/**
 * Start-up stops on this. It lists every problem at once, so an operator fixes a manifest in one
 * round instead of one crash-loop per mistake; each problem names the setting by flag and env var.
 */
export class ConfigError extends InvalidArgumentError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.problems = Object.freeze([...problems]);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The one config parser: flag wins over env, env over default. `argv` excludes the node binary and
 * script (pass `process.argv.slice(2)`); `--help` is the caller's business, see `wantsHelp`.
 */
export function loadConfig<S extends SettingSpecs>(specs: S, argv: readonly string[], env: Env): ConfigOf<S> {
  checkSpecs(specs);
  const problems: string[] = [];
  const flagValues = readFlags(specs, argv, problems);
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(specs)) {
    const fromFlag = flagValues.get(setting);
    const raw = fromFlag ?? env[setting.env];
    if (raw === undefined) {
      if (setting.default === undefined) {
        problems.push(`${settingName(setting)}: required setting is missing; set the flag or the environment variable`);
      } else {
        config[key] = freezeValue(setting.default);
      }
      continue;
    }
    try {
      config[key] = freezeValue(setting.parse(raw));
    } catch (err) {
      const source = fromFlag === undefined ? `env ${setting.env}` : `flag --${setting.flag}`;
      problems.push(invalidValue(setting, raw, source, err));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as ConfigOf<S>;
}

/** How messages name a setting: `--flag (env VAR)`. */
export function settingName(setting: Setting<unknown>): string {
  return `--${setting.flag} (env ${setting.env})`;
}

function readFlags(specs: SettingSpecs, argv: readonly string[], problems: string[]): Map<Setting<unknown>, string> {
  const byFlag = new Map(Object.values(specs).map((setting) => [setting.flag, setting]));
  const values = new Map<Setting<unknown>, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--") || arg === "--") {
      // Only the position: a stray word may be a password that followed a misspelt flag.
      problems.push(`unexpected argument #${i + 1}; flags are written --name=value or --name value`);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const setting = byFlag.get(flag);
    if (setting === undefined) {
      problems.push(`unknown flag --${flag}; see --help for the flags this program accepts`);
      continue;
    }
    let raw: string;
    const next = argv[i + 1];
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (setting.bareValue !== undefined) raw = setting.bareValue;
    else if (next !== undefined && !next.startsWith("--")) raw = argv[++i] as string;
    else {
      problems.push(`${settingName(setting)}: flag needs a value`);
      continue;
    }
    if (values.has(setting)) {
      problems.push(`${settingName(setting)}: flag given twice`);
      continue;
    }
    values.set(setting, raw);
  }
  return values;
}

function invalidValue(setting: Setting<unknown>, raw: string, source: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  if (!setting.secret) return `${settingName(setting)}: invalid value ${JSON.stringify(raw)} from ${source}: ${reason}`;
  // A parser may echo its input; a secret's never reaches the message, even through the reason.
  const safeReason = raw === "" ? reason : reason.replaceAll(raw, "[redacted]");
  return `${settingName(setting)}: invalid value (hidden, secret) from ${source}: ${safeReason}`;
}

function freezeValue(value: unknown): unknown {
  return typeof value === "object" && value !== null ? Object.freeze(value) : value;
}

const FLAG_SHAPE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const ENV_SHAPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/** A malformed spec is a bug in the service, not bad input, so it is a plain Error. */
function checkSpecs(specs: SettingSpecs): void {
  const flags = new Set(["help"]);
  const envs = new Set<string>();
  for (const [key, setting] of Object.entries(specs)) {
    if (!FLAG_SHAPE.test(setting.flag) || flags.has(setting.flag)) {
      throw new Error(`config spec "${key}": flag "${setting.flag}" is not kebab-case, is reserved or is used twice`);
    }
    if (!ENV_SHAPE.test(setting.env) || envs.has(setting.env)) {
      throw new Error(`config spec "${key}": env "${setting.env}" is not UPPER_SNAKE_CASE or is used twice`);
    }
    flags.add(setting.flag);
    envs.add(setting.env);
  }
}
