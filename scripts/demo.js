// `pnpm demo`: the whole driver on one machine — see packages/testkit/src/demo/run-demo.ts for what it
// runs, what is real and what is simulated. Exits 0 only if every check held; leaves nothing behind,
// also after Ctrl-C or a signal to any of its processes.
import { runDemo } from "../packages/testkit/dist/demo/run-demo.js";

process.exitCode = await runDemo();
