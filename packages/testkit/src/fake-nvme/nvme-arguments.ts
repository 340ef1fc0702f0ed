/** One option of an nvme-cli subcommand, as its argconfig table declares it. */
export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  /** takes a value (`--nqn X`, `--nqn=X`, `-n X`, `-nX`); otherwise a flag */
  readonly value: boolean;
}

export interface ParsedArguments {
  /** by long name; flags are `true` */
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/** A command line getopt_long would reject; the message is getopt's. */
export class ArgumentError extends Error {
  override readonly name = "ArgumentError";
}

/**
 * Parses argv like nvme-cli's argconfig (getopt_long): long options with `=` or a separate value,
 * short options with an attached or separate value (a value may start with `-`, e.g. `-l -1`),
 * grouped short flags, `--` ending options; non-options are positionals wherever they appear.
 */
export function parseArguments(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArguments {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = specs.find((candidate) => candidate.long === name);
      if (spec === undefined) throw new ArgumentError(`unrecognized option '--${name}'`);
      if (!spec.value) {
        if (eq !== -1) throw new ArgumentError(`option '--${name}' doesn't allow an argument`);
        options.set(spec.long, true);
      } else if (eq !== -1) {
        options.set(spec.long, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new ArgumentError(`option '--${name}' requires an argument`);
        options.set(spec.long, argv[++i]!);
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j += 1) {
        const letter = arg[j]!;
        const spec = specs.find((candidate) => candidate.short === letter);
        if (spec === undefined) throw new ArgumentError(`invalid option -- '${letter}'`);
        if (!spec.value) {
          options.set(spec.long, true);
          continue;
        }
        const attached = arg.slice(j + 1);
        if (attached !== "") options.set(spec.long, attached);
        else if (i + 1 < argv.length) options.set(spec.long, argv[++i]!);
        else throw new ArgumentError(`option requires an argument -- '${letter}'`);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals };
}

const OUTPUT: OptionSpec = { long: "output-format", short: "o", value: true };
const VERBOSE: OptionSpec = { long: "verbose", short: "v", value: false };

/** The options of `nvme connect` (nvme-cli 2.3) this fake accepts. */
export const CONNECT_OPTIONS: readonly OptionSpec[] = [
  { long: "transport", short: "t", value: true },
  { long: "traddr", short: "a", value: true },
  { long: "trsvcid", short: "s", value: true },
  { long: "nqn", short: "n", value: true },
  { long: "hostnqn", short: "q", value: true },
  { long: "hostid", short: "I", value: true },
  { long: "ctrl-loss-tmo", short: "l", value: true },
  { long: "reconnect-delay", short: "c", value: true },
  { long: "keep-alive-tmo", short: "k", value: true },
  { long: "nr-io-queues", short: "i", value: true },
  { long: "queue-size", short: "Q", value: true },
  { long: "host-traddr", short: "w", value: true },
  { long: "host-iface", short: "f", value: true },
  { long: "duplicate-connect", short: "D", value: false },
  { long: "disable-sqflow", short: "d", value: false },
  { long: "hdr-digest", short: "g", value: false },
  { long: "data-digest", short: "G", value: false },
  OUTPUT,
  VERBOSE,
];

export const DISCONNECT_OPTIONS: readonly OptionSpec[] = [
  { long: "nqn", short: "n", value: true },
  { long: "device", short: "d", value: true },
  VERBOSE,
];

export const LIST_OPTIONS: readonly OptionSpec[] = [OUTPUT, VERBOSE];

export const LIST_SUBSYS_OPTIONS: readonly OptionSpec[] = [OUTPUT, VERBOSE, { long: "namespace-id", short: "n", value: true }];

export const PLAIN_OPTIONS: readonly OptionSpec[] = [OUTPUT, VERBOSE];
