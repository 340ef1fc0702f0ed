import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../errors.js";
import { routerOsError } from "./classify-error.js";
import { addDisk, printDiskBySlot, removeDisk } from "./command-builder.js";
import { listFixtures, readFixture } from "../../test/routeros/fixtures/fixture-files.js";

const ADD = addDisk({
  slot: "pvc-1",
  filePath: "/raid10/vols/pvc-1.img",
  sizeBytes: 10737418240n,
  export: { port: 4420, nqn: "nqn.2000-02.com.mikrotik:pvc-1" },
  comment: "rds-csi:v1 kind=volume",
}).text;
const PRINT = printDiskBySlot("pvc-1").text;

const CLASSES = {
  NotFoundError,
  AlreadyExistsError,
  ResourceExhaustedError,
  InvalidArgumentError,
  FailedPreconditionError,
  InternalError,
} as const;

describe("routerOsError golden files", () => {
  const cases = listFixtures("errors", ".txt").map((name) => {
    const className = name.slice(0, name.indexOf("--")) as keyof typeof CLASSES;
    return [name, CLASSES[className], readFixture(`errors/${name}`)] as const;
  });

  it("has a case for every class", () => {
    expect(new Set(cases.map(([, errorClass]) => errorClass))).toEqual(new Set(Object.values(CLASSES)));
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)("%s on stdout, whatever the exit status", (_, errorClass, output) => {
    for (const exitCode of [0, 1, null]) {
      const error = routerOsError(output, "", exitCode, ADD);
      expect(error).toBeInstanceOf(errorClass);
      expect(error?.message).toBe(`RouterOS /disk add failed: ${output.trim()}`);
    }
  });

  it.each(cases)("%s on stderr, whatever the exit status", (_, errorClass, output) => {
    for (const exitCode of [0, 1, null]) {
      expect(routerOsError("", output, exitCode, ADD)).toBeInstanceOf(errorClass);
    }
  });

  it.each(listFixtures("print-detail", ".txt"))("the clean print %s is no error", (name) => {
    expect(routerOsError(readFixture(`print-detail/${name}`), "", 0, PRINT)).toBeUndefined();
    expect(routerOsError(readFixture(`print-detail/${name}`), "", null, PRINT)).toBeUndefined();
  });
});

describe("routerOsError", () => {
  it("is undefined for a silent success", () => {
    expect(routerOsError("", "", 0, ADD)).toBeUndefined();
    expect(routerOsError("\n", " \n", null, ADD)).toBeUndefined();
  });

  it("does not take words inside a print for an error: errors are whole lines in the first column", () => {
    const output = readFixture("print-detail/error-words-in-values.txt");
    expect(output).toContain("\n      no such item\n");
    expect(output).toContain('model="failure: not enough space"');
    expect(routerOsError(output, "", 0, PRINT)).toBeUndefined();
    expect(routerOsError("  failure: not enough space\n", "", 0, ADD)).toBeUndefined();
    expect(routerOsError('comment="no such item"\n', "", 0, ADD)).toBeUndefined();
    expect(routerOsError("item no such item\n", "", 0, ADD)).toBeUndefined();
    expect(routerOsError("no such item here\n", "", 0, ADD)).toBeUndefined();
  });

  it("finds an error after normal output", () => {
    const output = `${readFixture("print-detail/disk-volume-80.txt")}failure: not enough space\n`;
    expect(routerOsError(output, "", 0, ADD)).toBeInstanceOf(ResourceExhaustedError);
  });

  it("reports the first error line when there are several", () => {
    const error = routerOsError("failure: file already exists\n", "no such item\n", 0, ADD);
    expect(error).toBeInstanceOf(AlreadyExistsError);
  });

  it("names the command by its path only, never its values", () => {
    const error = routerOsError("no such item\n", "", 0, removeDisk("pvc-secret-looking-1").text);
    expect(error?.message).toBe("RouterOS /disk remove failed: no such item");
    expect(routerOsError("no such item\n", "", 0, PRINT)?.message).toBe("RouterOS /disk print terse failed: no such item");
  });

  it("treats unexplained text on stderr as Internal", () => {
    const error = routerOsError("", "\nsomething went wrong\n", 0, ADD);
    expect(error).toBeInstanceOf(InternalError);
    expect(error?.message).toBe("RouterOS /disk add failed: something went wrong");
  });

  it("treats a non-zero exit status without a known error as Internal, quoting the first line", () => {
    const quiet = routerOsError("", "", 1, ADD);
    expect(quiet).toBeInstanceOf(InternalError);
    expect(quiet?.message).toBe("RouterOS /disk add exited with status 1");
    const said = routerOsError("\n  interrupted\n", "", 255, ADD);
    expect(said?.message).toBe("RouterOS /disk add exited with status 255: interrupted");
  });

  it("escapes control characters and cuts a long error line in its message", () => {
    const error = routerOsError(`failure: \x1b[2J${"x".repeat(500)}\n`, "", 0, ADD);
    expect(error).toBeInstanceOf(InternalError);
    expect(error?.message).toMatch(/^RouterOS \/disk add failed: failure: \\u\{1B\}\[2Jx+… \(\d+ more characters\)$/);
    expect(error!.message.length).toBeLessThan(300);
  });
});
