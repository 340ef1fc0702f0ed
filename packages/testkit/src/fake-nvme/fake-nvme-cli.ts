#!/usr/bin/env node
/**
 * The fake `nvme` program: nvme-cli 2.3's argument syntax and output over the fake fabric. Run it
 * through the shim writeNvmeShim() writes (which bakes in FAKE_NVME_* and execs `node` on this file).
 */
import { runNvmeCommand } from "./nvme-command.js";

const result = await runNvmeCommand(process.argv.slice(2), process.env);
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.code;
