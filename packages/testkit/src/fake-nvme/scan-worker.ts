#!/usr/bin/env node
/**
 * The kernel's namespace scan after a connect (drivers/nvme/host/core.c nvme_scan_work, queued by
 * nvme_start_ctrl), with udev making the node: started detached by the fake `nvme connect`, so the
 * namespace appears after `nvme connect` returned, as on a real host. argv: the subsystem NQN.
 * `FAKE_NVME_SCAN_DELAY_MS` holds it back longer (tests that need to see the gap).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { FakeInitiator } from "./fake-initiator.js";
import { config, FAKE_NVME_ENV } from "./nvme-command.js";

const nqn = process.argv[2];
if (nqn === undefined) throw new Error("usage: scan-worker <nqn>");
const delayMs = Number(process.env[FAKE_NVME_ENV.scanDelayMs] ?? "0");
if (delayMs > 0) await sleep(delayMs);
await new FakeInitiator(config(process.env, false)).scan(nqn);
