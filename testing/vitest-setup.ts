import { afterAll } from "vitest";
import { removeTempDirs } from "./temp-dirs";

// Vitest ends its worker processes without an "exit" event: each test file removes its temporary
// directories itself, after its own hooks (which close what uses them).
afterAll(removeTempDirs);
