import { InvalidArgumentError } from "../errors.js";
import { buildPublishContext, parsePublishContext, PUBLISH_CONTEXT_KEYS } from "./publish-context.js";

describe("publish_context", () => {
  const target = { address: "10.42.0.5", port: 4420, nqn: "nqn.2000-02.com.mikrotik:pvc-1" };

  it("round-trips what the controller writes into what the node reads", () => {
    const context = buildPublishContext(target);
    expect(context).toEqual({ nvme_address: "10.42.0.5", nvme_port: "4420", nvme_nqn: "nqn.2000-02.com.mikrotik:pvc-1" });
    expect(parsePublishContext(context)).toEqual(target);
  });

  it.each([
    [PUBLISH_CONTEXT_KEYS.address, 'publish_context is missing "nvme_address"'],
    [PUBLISH_CONTEXT_KEYS.port, 'publish_context is missing "nvme_port"'],
    [PUBLISH_CONTEXT_KEYS.nqn, 'publish_context is missing "nvme_nqn"'],
  ])("names a missing %s", (key, message) => {
    const context = buildPublishContext(target);
    delete context[key];
    expect(() => parsePublishContext(context)).toThrow(new InvalidArgumentError(message));
  });

  it.each(["not-an-nqn", "nqn.2000-02.com.mikrotik:pvc-1,nqn.2000-02.com.mikrotik:pvc-2", "nqn.2000-02.com.mikrotik:pvc 1", `nqn.2000-02.com.mikrotik:${"x".repeat(220)}`])("refuses the NQN %s, naming the key", (nqn) => {
    expect(() => parsePublishContext({ ...buildPublishContext(target), nvme_nqn: nqn })).toThrow(/^publish_context "nvme_nqn": invalid NQN ".*": must (look like nqn\.yyyy-mm\.reverse\.domain:name|be at most 223 bytes)/);
  });

  it.each(["0", "65536", "44x", "-1"])("refuses port %s", (port) => {
    expect(() => parsePublishContext({ ...buildPublishContext(target), nvme_port: port })).toThrow(
      `publish_context "nvme_port" must be a port from 1 to 65535, got "${port}"`,
    );
  });
});
