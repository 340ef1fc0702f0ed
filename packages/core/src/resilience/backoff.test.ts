import { InvalidArgumentError } from "../errors.js";
import { Backoff, exponentialBackoff } from "./backoff.js";

describe("Backoff", () => {
  it("without jitter waits initial × 2^n up to the cap, and starts over after a success", () => {
    const backoff = new Backoff({ initialDelay: 100, maxDelay: 1_000, jitter: "none" });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoff.failures).toBe(6);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it("with decorrelated jitter stays within the cap, grows, and differs between clients", () => {
    const runs = Array.from({ length: 50 }, () => {
      const backoff = new Backoff({ initialDelay: 100, maxDelay: 5_000, jitter: "decorrelated" });
      return Array.from({ length: 12 }, () => backoff.next());
    });
    for (const waits of runs) for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(0);
    for (const waits of runs) for (const wait of waits) expect(wait).toBeLessThanOrEqual(5_000);
    const mean = (index: number): number => runs.reduce((sum, waits) => sum + waits[index]!, 0) / runs.length;
    expect(mean(6)).toBeGreaterThan(mean(0) * 4);
    expect(new Set(runs.map((waits) => waits[0])).size).toBeGreaterThan(1);
  });

  it.each([
    [0, 100],
    [100, 50],
    [Number.NaN, 100],
    [100, Number.POSITIVE_INFINITY],
  ])("refuses initialDelay=%p, maxDelay=%p", (initialDelay, maxDelay) => {
    expect(() => exponentialBackoff({ initialDelay, maxDelay, jitter: "none" })).toThrow(InvalidArgumentError);
    expect(() => exponentialBackoff({ initialDelay, maxDelay, jitter: "none" })).toThrow(/^backoff needs 0 < initialDelay <= maxDelay/);
  });
});
