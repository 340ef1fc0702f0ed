import { InvalidArgumentError } from "../errors.js";
import { isNqn, isNqnPrefix, MAX_NQN_BYTES, nqnProblem, validateNqnOf } from "./nqn.js";

const UUID_NQN = "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427";

describe("the NQN grammar", () => {
  it.each([
    UUID_NQN, // what `nvme gen-hostnqn` writes
    "nqn.2014-08.org.nvmexpress:uuid:1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
    "nqn.2000-02.com.mikrotik:pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab", // the driver's export NQN
    "nqn.2026-09.com.mikrotik:rds2216.vm-storage_001",
    "nqn.2014-08.org.nvmexpress:NVMf:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", // colons inside the name
  ])("accepts %s", (nqn) => {
    expect(nqnProblem(nqn)).toBeUndefined();
    expect(isNqn(nqn)).toBe(true);
  });

  it("accepts exactly 223 bytes (the spec's maximum) and refuses 224, counting UTF-8 bytes", () => {
    const head = "nqn.2000-02.com.mikrotik:";
    expect(isNqn(head + "x".repeat(MAX_NQN_BYTES - head.length))).toBe(true);
    expect(nqnProblem(head + "x".repeat(MAX_NQN_BYTES - head.length + 1))).toBe("must be at most 223 bytes");
    // 100 two-byte characters: 125 characters but 225 bytes, refused by length before the grammar.
    expect(nqnProblem(head + "é".repeat(100))).toBe("must be at most 223 bytes");
  });

  it.each([
    ["", "empty"],
    ["not-an-nqn", "no nqn. prefix"],
    ["iqn.2014-08.org.x:y", "an iSCSI name"],
    ["nqn.14-08.org.x:y", "a two-digit year"],
    ["nqn.2014-8.org.x:y", "a one-digit month"],
    ["nqn.٢٠١٤-08.org.x:y", "non-ASCII digits"],
    ["nqn.2014-08.org", "no colon-prefixed name"],
    ["nqn.2014-08.org.nvmexpress.discovery", "the discovery NQN (neither a host's nor a volume's)"],
    ["nqn.2014-08.org.x:", "an empty name"],
    ["nqn.2014-08.ORG.x:y", "an upper-case domain"],
    ["nqn.2014-08.org_x:y", "'_' in the domain"],
    ["nqn.2014-08.org.x:a b", "a space"],
    ["nqn.2014-08.org.x:a,nqn.2014-08.org.x:b", "a comma (nvme-cli and RouterOS split there)"],
    ['nqn.2014-08.org.x:a"', "a quote"],
    ["nqn.2014-08.org.x:a$(reboot)", "shell characters"],
    ["nqn.2014-08.org.x:é", "non-ASCII in the name"],
    [`${UUID_NQN}\n`, "a trailing newline"],
  ])("refuses %j (%s)", (nqn) => {
    expect(nqnProblem(nqn)).toBe("must look like nqn.yyyy-mm.reverse.domain:name");
    expect(isNqn(nqn)).toBe(false);
  });

  it("validateNqnOf returns a valid NQN and names the kind and the escaped value otherwise", () => {
    expect(validateNqnOf("host NQN", UUID_NQN)).toBe(UUID_NQN);
    expect(() => validateNqnOf("host NQN", "a\nb")).toThrow(
      new InvalidArgumentError('invalid host NQN "a\\nb": must look like nqn.yyyy-mm.reverse.domain:name'),
    );
  });

  it("knows the prefix the controller puts before a volume id", () => {
    expect(isNqnPrefix("nqn.2000-02.com.mikrotik")).toBe(true);
    expect(isNqnPrefix("nqn.2000-02.com.mikrotik:pvc")).toBe(false);
    expect(isNqnPrefix("iqn.2000-02.com.mikrotik")).toBe(false);
  });
});
