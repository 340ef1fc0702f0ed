import type { Logger } from "winston";
import { parseCommand, type ParsedCommand } from "./command-parser.js";
import type { CommandLog, CommandOutcome } from "./command-log.js";
import type { CommandScheduler } from "./command-scheduler.js";
import { addDisk } from "./disk-add.js";
import { printDisks } from "./disk-menu.js";
import { removeDisks } from "./disk-remove.js";
import { setDisks } from "./disk-set.js";
import type { CommandKind, FaultInjector } from "./fault-injector.js";
import { printFiles } from "./file-menu.js";
import { removeFiles } from "./file-remove.js";
import { CRLF } from "./format-print-detail.js";
import type { RdsModel } from "./rds-model.js";
import { RouterOsError } from "./routeros-error.js";
import type { SimulatorSettings } from "./settings.js";

export interface ExecRequest {
  /** login name without console options */
  readonly user: string;
  /** terminal width for `print detail` */
  readonly width: number;
  readonly command: string;
}

export interface ExecResult {
  /** what goes to the channel's stdout */
  readonly output: string;
  readonly exitStatus: number;
  /** cut the SSH connection instead of answering */
  readonly dropConnection: boolean;
}

export interface CommandExecutorOptions {
  readonly model: RdsModel;
  readonly faults: FaultInjector;
  readonly scheduler: CommandScheduler;
  readonly log: CommandLog;
  readonly settings: () => SimulatorSettings;
  /** runs after every mutating command, in its queue slot: re-derive exports, persist the state */
  readonly afterMutation: () => Promise<void>;
  readonly logger: Logger;
}

interface Answer {
  readonly output: string;
  readonly outcome: CommandOutcome;
  readonly startedAt: Date;
}

/**
 * Runs one exec request from start to end: faults that cut the connection or answer instead, parsing,
 * the mutation queue and latency, the command itself, the command log. Errors are answered as text,
 * the way RouterOS does; only `errorExitStatus` decides whether they also set the exit status.
 */
export class CommandExecutor {
  readonly #options: CommandExecutorOptions;

  constructor(options: CommandExecutorOptions) {
    this.#options = options;
  }

  async execute(request: ExecRequest): Promise<ExecResult> {
    const { faults, scheduler } = this.#options;
    const received = new Date();
    if (faults.takeDrop(request.command, "before")) {
      this.#record(request, received, { output: "", outcome: "dropped-before", startedAt: received });
      return { output: "", exitStatus: 0, dropConnection: true };
    }
    let parsed: ParsedCommand | undefined;
    let parseError: RouterOsError | undefined;
    try {
      parsed = parseCommand(request.command);
    } catch (err) {
      if (!(err instanceof RouterOsError)) throw err;
      parseError = err;
    }
    const kind: CommandKind = parsed === undefined || parsed.action === "print" ? "read" : "mutate";
    const injected = faults.takeErrorReply(request.command);
    const answer = await scheduler.run(kind, async (startedAt): Promise<Answer> => {
      if (injected !== undefined) return { output: `${injected}${CRLF}`, outcome: "injected-error", startedAt };
      if (parseError !== undefined) return { output: `${parseError.message}${CRLF}`, outcome: "error", startedAt };
      if (parsed === undefined) return { output: "", outcome: "ok", startedAt };
      try {
        return { output: await this.#run(parsed, request.width), outcome: "ok", startedAt };
      } catch (err) {
        return { output: `${this.#errorText(err, request)}${CRLF}`, outcome: "error", startedAt };
      } finally {
        if (kind === "mutate") await this.#options.afterMutation();
      }
    });
    const dropAfter = faults.takeDrop(request.command, "after");
    const outcome = dropAfter ? "dropped-after" : answer.outcome;
    this.#record(request, received, { ...answer, outcome });
    const failed = outcome === "error" || outcome === "injected-error";
    return {
      output: answer.output,
      exitStatus: failed ? this.#options.settings().errorExitStatus : 0,
      dropConnection: dropAfter,
    };
  }

  async #run(command: ParsedCommand, width: number): Promise<string> {
    const { model } = this.#options;
    switch (command.action) {
      case "print":
        return command.menu === "disk"
          ? printDisks(model, command.format, command.where, width)
          : printFiles(model, command.format, command.where, width);
      case "add":
        await addDisk(command.args, model);
        return "";
      case "set":
        await setDisks(command.target, command.args, model);
        return "";
      case "remove":
        if (command.menu === "disk") removeDisks(command.target, model);
        else await removeFiles(command.target, model);
        return "";
    }
  }

  /** A RouterOS error is answered as it is; anything else (an I/O error on a backing file) as a generic failure. */
  #errorText(err: unknown, request: ExecRequest): string {
    if (err instanceof RouterOsError) return err.message;
    this.#options.logger.error("command failed", { command: request.command, error: err });
    return "failure: simulator I/O error";
  }

  #record(request: ExecRequest, received: Date, answer: Answer): void {
    const finished = new Date();
    this.#options.log.record({
      timestamp: received.toISOString(),
      startedAt: answer.startedAt.toISOString(),
      finishedAt: finished.toISOString(),
      user: request.user,
      command: request.command,
      outcome: answer.outcome,
      output: answer.output,
      durationMs: finished.getTime() - received.getTime(),
    });
    this.#options.logger.debug("command", { user: request.user, command: request.command, outcome: answer.outcome });
  }
}
