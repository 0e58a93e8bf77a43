// ESLint flat config. The dependency direction of STYLE.md is enforced here:
// actors/** and src/runtime/** import only ports and their own files, never adapters or vendor SDKs;
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
  { files: ["actors/**/*.ts"], rules: forbidAdaptersAndVendors(["**/runtime/**", "**/src/runtime/**", "piscina", "node:worker_threads"]) },
  { files: ["src/runtime/**/*.ts"], rules: forbidAdaptersAndVendors() },
  {
    files: ["src/ports/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../*", "!../ports/*", ...vendorSdks], message: "ports import only ports (and generated types)." }] },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.{js,mjs,ts}", "**/*.test.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
