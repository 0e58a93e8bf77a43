import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_KEY_PATTERN } from "../../../src/config/index.js";
import { declaredNames, execForm, last, readDockerfile, type Stage } from "./dockerfile.js";
import { isWorkload, OVERLAYS, renderOverlay, REPO, ROLE_COMMANDS, shoalContainer, shoalCommands, type K8sObject, type Overlay } from "./manifests.js";

/**
 * A lint of the Dockerfile in the spirit of hadolint (no container engine runs here, so the image
 * is never built by the tests): pinned base, non-root user, no secrets in the image, and the
 * command line of every pod of deploy/k8s is exactly `node bin/shoal.mjs <role>`, the entry point
 * the role tests run (bin/shoal.mjs starts `node --import tsx src/cli/main.ts <role>`).
 */

const BASE_IMAGE = "node:20.19-bookworm-slim";
const ENTRYPOINT = ["node", "bin/shoal.mjs"];
const SECRET_LOOKING = /(secret|token|passw(or)?d|api_?key|private_?key|credential)/i;

let stages: Stage[];
let final: Stage;
beforeAll(() => {
  stages = readDockerfile();
  final = stages[stages.length - 1]!;
});

describe("Dockerfile", () => {
  it("builds every stage from the pinned Node 20 base (a tag, not latest; no digest by choice)", () => {
    const aliases = new Set<string>();
    for (const s of stages) {
      if (!aliases.has(s.image)) expect(s.image, "FROM must name the pinned base (or an earlier stage)").toBe(BASE_IMAGE);
      if (s.alias !== undefined) aliases.add(s.alias);
    }
    expect(stages.length, "multi-stage: a build stage and the runtime stage").toBeGreaterThanOrEqual(2);
    // The base's Node satisfies package.json's engines (>=20.19).
    const engines = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    const [, eMaj, eMin] = /^>=(\d+)\.(\d+)/.exec(engines)!.map(Number);
    const [, bMaj, bMin] = /^node:(\d+)\.(\d+)-/.exec(BASE_IMAGE)!.map(Number);
    expect(bMaj === eMaj && bMin! >= eMin!).toBe(true);
  });

  it("runs as the non-root user 10001, created in the image", () => {
    const user = last(final, "USER");
    expect(user, "the final stage sets USER").toBeDefined();
    expect(user!.args).toMatch(/^10001(:10001)?$/); // numeric: runAsNonRoot can verify it
    const creates = final.instructions.filter((i) => i.keyword === "RUN" && /useradd\b.*--uid 10001\b/.test(i.args));
    expect(creates, "a RUN creates uid 10001").toHaveLength(1);
    expect(creates[0]!.line).toBeLessThan(user!.line);
  });

  it("installs production dependencies only in the final stage, and copies what the roles load", () => {
    const runs = final.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev\b/.test(r)), "npm ci --omit=dev").toBe(true);
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r)), "npm install (not reproducible) in the final stage").toBe(false);
    const copied = final.instructions.filter((i) => i.keyword === "COPY" && !i.args.includes("--from=")).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const needed of ["package.json", "package-lock.json", "bin", "src", "actors", "config"]) expect(copied, `COPY ${needed}`).toContain(needed);
    expect(last(final, "WORKDIR")?.args, "deploy/k8s mounts the config over /app/config/prod.yaml").toBe("/app");
  });

  it("builds the console app in the build stage when package.json has build:console, and ships it", () => {
    const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const builds = stages.slice(0, -1).flatMap((s) => s.instructions).filter((i) => i.keyword === "RUN" && /\bnpm run build:console\b/.test(i.args));
    expect(builds.length, "RUN npm run build:console in a build stage").toBe(scripts["build:console"] !== undefined ? 1 : 0);
    if (builds.length > 0) {
      const shipped = final.instructions.some((i) => i.keyword === "COPY" && /--from=\S+\s+\/app\/dist\/console\s+\.\/dist\/console$/.test(i.args));
      expect(shipped, "COPY --from=<build> /app/dist/console ./dist/console (console.appDir \"\" = dist/console)").toBe(true);
    }
  });

  it("holds no secret: no ENV/ARG with a secret-looking name, no key files copied, none in the build context", () => {
    for (const s of stages) {
      for (const i of s.instructions) {
        if (i.keyword === "ENV" || i.keyword === "ARG") {
          for (const name of declaredNames(i)) {
            expect(SECRET_LOOKING.test(name) || SECRET_KEY_PATTERN.test(name), `line ${i.line}: ${i.keyword} ${name} looks like a secret`).toBe(false);
          }
        }
        if (i.keyword === "COPY" || i.keyword === "ADD") expect(i.args, `line ${i.line}`).not.toMatch(/\.env\b|\.npmrc|\.pem\b|\.key\b|id_rsa/);
        expect(i.keyword, `line ${i.line}: ADD fetches and unpacks; COPY only`).not.toBe("ADD");
      }
    }
    const ignored = readFileSync(join(REPO, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const p of [".git", "node_modules", ".shoal", ".env", ".env.*", "*.pem", "*.key"]) expect(ignored, `.dockerignore lists ${p}`).toContain(p);
  });

  it("runs `node bin/shoal.mjs <role>`: ENTRYPOINT in exec form, the role as CMD", () => {
    expect(execForm(last(final, "ENTRYPOINT")!)).toEqual(ENTRYPOINT);
    const cmd = execForm(last(final, "CMD")!);
    expect(cmd).toHaveLength(1);
    expect(ROLE_COMMANDS.has(cmd[0]!) && shoalCommands().has(cmd[0]!), `CMD ${cmd[0]} is a role of src/cli/main.ts`).toBe(true);
  });

  it("can leave signal handling to node as PID 1: bin/shoal.mjs forwards SIGTERM to the role and exits with it", () => {
    const bin = readFileSync(join(REPO, "bin", "shoal.mjs"), "utf8");
    expect(bin).toMatch(/for \(const sig of \[[^\]]*"SIGTERM"[^\]]*\]\) process\.on\(sig, \(\) => child\.kill\(sig\)\)/);
    expect(bin).toMatch(/child\.on\("exit"/);
    expect(bin).toMatch(/"--import", "tsx", main/); // the role tests run the same: node --import tsx src/cli/main.ts <role>
    expect(bin).not.toMatch(/detached/);
  });
});

describe.each(OVERLAYS)("pods of deploy/k8s/overlays/%s run the image's entry point", (overlay: Overlay) => {
  let objs: K8sObject[];
  beforeAll(() => {
    objs = renderOverlay(overlay);
  }, 60_000);

  it("every container: no command override, args = [role], so the process is `node bin/shoal.mjs <role>`", () => {
    const commands = shoalCommands();
    const workloads = objs.filter(isWorkload);
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) {
      const c = shoalContainer(w);
      expect(c.command, `${w.metadata.name}: command would replace the ENTRYPOINT`).toBeUndefined();
      expect(c.args, w.metadata.name).toHaveLength(1);
      const role = c.args![0]!;
      expect(ROLE_COMMANDS.has(role) && commands.has(role), `${w.metadata.name}: "${role}" is a long-running role of src/cli/main.ts (${[...commands].join(", ")})`).toBe(true);
      expect([...ENTRYPOINT, ...c.args!]).toEqual(["node", "bin/shoal.mjs", role]);
    }
  });

  it("every container port is EXPOSEd by the image", () => {
    const exposed = new Set(final.instructions.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split("/")[0]))));
    for (const w of objs.filter(isWorkload)) for (const p of shoalContainer(w).ports ?? []) expect(exposed.has(p.containerPort), `${w.metadata.name}: EXPOSE ${p.containerPort}`).toBe(true);
  });
});
