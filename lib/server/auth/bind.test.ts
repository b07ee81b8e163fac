import { describe, expect, it } from "vitest";
import { bindProblem, isLoopbackAddress } from "./bind";

describe("bind check", () => {
  it("knows loopback addresses", () => {
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopbackAddress(address), address).toBe(true);
    for (const address of ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "::ffff:10.0.0.1", "example.com"]) expect(isLoopbackAddress(address), address).toBe(false);
  });

  it("refuses local mode on any other address, saying what to set; team mode may bind anywhere", () => {
    expect(bindProblem("local", ["127.0.0.1"])).toBeNull();
    const problem = bindProblem("local", ["0.0.0.0"]);
    expect(problem).toMatch(/refusing to start in local mode on 0\.0\.0\.0 \(every interface\)/);
    expect(problem).toMatch(/TRELLIS_MODE=team/);
    expect(problem).toMatch(/TRELLIS_ORIGIN/);
    expect(bindProblem("local", ["::"])).toMatch(/every interface/);
    expect(bindProblem("local", ["192.168.1.5"])).toMatch(/192\.168\.1\.5/);
    expect(bindProblem("team", ["0.0.0.0"])).toBeNull();
  });
});
