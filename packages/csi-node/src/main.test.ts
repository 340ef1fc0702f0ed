import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeEntryPoint } from "@rds-csi/testkit";

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

describeEntryPoint({
  mainPath: fileURLToPath(new URL("./main.js", import.meta.url)),
  program: "rds-csi-node",
  version: packageJson.version,
  // Temp etc and kubelet dirs: start-up creates <etc-dir>/nvme/hostnqn when missing and reconciles
  // what it finds under the kubelet dir, and tests run as root.
  requiredEnv: (dir) => ({ NODE_ID: "node-a", ETC_DIR: dir, KUBELET_DIR: dir }),
});
