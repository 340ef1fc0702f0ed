/**
 * In the name of every suite that needs root (loop devices, mounts, the kernel's NVMe host): `.ci/run`
 * fails when it runs as root and a test under this mark was skipped, so CI never loses them silently.
 */
export const ROOT_ONLY_MARK = "[root only]";

const asRootOrSkip = (): jest.Describe => (process.getuid?.() === 0 ? describe : describe.skip);

/** `describe` for a suite that needs root, skipped for anyone else; its name carries ROOT_ONLY_MARK. */
export const describeAsRoot = Object.assign((name: string, fn: () => void): void => asRootOrSkip()(`${name} ${ROOT_ONLY_MARK}`, fn), {
  /** `describe.each` over single values, as `describeAsRoot` does it. */
  each:
    <T>(cases: readonly T[]) =>
    (name: string, fn: (value: T) => void): void =>
      asRootOrSkip().each(cases as T[])(`${name} ${ROOT_ONLY_MARK}`, (value: T) => fn(value)),
});
