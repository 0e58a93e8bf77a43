// ESLint flat config. The dependency direction of the house style (docs/architecture.md) is enforced here:
// nothing in src/ but src/cli imports adapters; actors/**, src/runtime/** and src/node/** import only ports
// (and base/domain) and their own files, never adapters or vendor SDKs;
// src/ports/** imports nothing but other ports. Only src/cli/** (composition roots) wires adapters.
import tseslint from "typescript-eslint";

const vendorSdks = [
  "@nats-io/*",
  "mqtt",
  "@clickhouse/*",
  "consul",
  "openai",
  "weaviate-ts-client",
  "@grpc/*",
  "@connectrpc/*",
  "keyv",
  "@keyv/*",
  "pino",
  "prom-client",
  "@lancedb/*",
  "redis",
  "ioredis",
];

const forbidAdaptersAndVendors = (extra = []) => ({
  "no-restricted-imports": [
    "error",
    {
      patterns: [
        {
          group: ["**/adapters/**", "**/src/adapters/**"],
          message: "actors/ and src/runtime/ depend on ports only; adapters are wired in src/cli/.",
        },
        {
          group: [...vendorSdks, ...extra],
          message: "vendor SDKs belong in src/adapters/<tech>/ behind a port.",
        },
        { group: ["**/cli/**"], message: "nothing imports the composition roots." },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ["src/gen/**", "dist/**", "node_modules/**", ".shoal/**", "bench-out/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  // Everywhere in src/ but the adapters and the composition roots: no adapter, no composition root
  // (logic reaches stores, brokers and Consul through ports; src/cli wires the adapters in).
  {
    files: ["src/**/*.ts"],
    ignores: ["src/adapters/**", "src/cli/**", "**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/adapters/**"], message: "logic depends on ports; adapters are wired in src/cli/." },
            { group: ["**/cli/**"], message: "nothing imports the composition roots." },
          ],
        },
      ],
    },
  },
  { files: ["actors/**/*.ts"], rules: forbidAdaptersAndVendors(["**/runtime/**", "**/src/runtime/**", "piscina", "node:worker_threads"]) },
  { files: ["src/runtime/**/*.ts"], rules: forbidAdaptersAndVendors() },
  // The runtime node (partitions, pumps, calls, timer checkpoints) works on ports: the actor host, the
  // journal, the sink, the services; roles in src/cli wire adapters to it.
  {
    files: ["src/node/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: forbidAdaptersAndVendors(["**/runtime/**", "**/gateway/**", "**/observability/**", "**/cluster/**", "**/config/**"]),
  },
  // Basics (clock, sleep, simulated clock, hashing, varint, units, the error root): no dependency but ports.
  {
    files: ["src/base/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: [...["adapters", "admin", "bridge", "cli", "cluster", "config", "detector", "domain", "gateway", "grpc", "nab", "node", "observability", "runtime", "simulator", "status-page", "actors"].map((f) => `**/${f}/**`), ...vendorSdks], message: "src/base imports only ports and itself." }] },
      ],
    },
  },
  {
    files: ["src/ports/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../*", "!../ports/*", ...vendorSdks], message: "ports import only ports (and generated types)." }] },
      ],
    },
  },
  // The operators' console runs in a browser: browser globals, no Node built-ins, no server-side code
  // (it reaches Shoal only through the generated gRPC-web clients; pure src/base and src/access/roles.ts are shared).
  {
    files: ["src/console-app/**/*.{ts,tsx}"],
    languageOptions: {
      globals: Object.fromEntries(
        ["window", "document", "navigator", "location", "history", "sessionStorage", "localStorage", "fetch", "console", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "requestAnimationFrame", "cancelAnimationFrame", "ResizeObserver", "AbortController", "AbortSignal", "URLSearchParams", "HashChangeEvent", "HTMLElement", "devicePixelRatio", "performance"].map((g) => [g, "readonly"]),
      ),
    },
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "the console runs in a browser: no Node built-ins." },
            { group: ["fs", "path", "os", "http", "http2", "crypto", "child_process", "worker_threads", "@connectrpc/connect-node", "@grpc/*"], message: "the console runs in a browser: use @connectrpc/connect-web." },
            { group: ["**/adapters/**", "**/cli/**", "**/runtime/**", "**/node/**", "**/access/index.js", "**/access/tokens.js"], message: "server-side code does not belong in the browser bundle." },
          ],
        },
      ],
      "no-restricted-globals": ["error", "process", "Buffer", "require", "__dirname", "__filename", "global"],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.{js,mjs,ts}", "**/*.test.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
