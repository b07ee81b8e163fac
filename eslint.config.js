import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import nextPlugin from "@next/eslint-plugin-next";

/** Layer rules from docs/architecture.md §1 are enforced here and, with cycles, by lib/boundaries.test.ts. */
const PURE_CORE_FORBIDDEN = ["next", "next/*", "react", "react-dom", "@xyflow/*", "drizzle-orm", "drizzle-orm/*", "ai", "@ai-sdk/*", "node:*", "fs", "path", "@/lib/server/*", "@/components/*", "@/app/*"];

export default tseslint.config(
  { ignores: [".next/**", ".bench/**", ".scratch/**", "node_modules/**", "public/**", "next-env.d.ts", "test-results/**", "playwright-report/**", "bench-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["**/*.{js,mjs,ts,tsx}"],
    ...nextPlugin.configs.recommended,
    rules: { ...nextPlugin.configs.recommended.rules, ...nextPlugin.configs["core-web-vitals"].rules },
  },
  {
    // Includes the React Compiler rules (set-state-in-effect, refs, purity, immutability, ...).
    files: ["components/**/*.{ts,tsx}", "app/**/*.{ts,tsx}", "lib/editor/**/*.{ts,tsx}"],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ["lib/workflow/**/*.ts"],
    ignores: ["lib/workflow/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: PURE_CORE_FORBIDDEN, message: "lib/workflow is the pure core: no framework, provider, database or Node I/O imports (docs/architecture.md §1)." }] }],
      "no-restricted-globals": ["error", { name: "process", message: "lib/workflow never reads the environment; lib/server/config.ts does." }],
    },
  },
  {
    files: ["components/**/*.{ts,tsx}", "lib/editor/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@/lib/server/*", "@/lib/server"], message: "Client code never imports lib/server (docs/architecture.md §1)." }] }],
    },
  },
);
