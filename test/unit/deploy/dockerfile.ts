import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./manifests.js";

/** One Dockerfile instruction (continuation lines joined, comments dropped). */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** A build stage: its FROM image, optional alias, and instructions after the FROM. */
export interface Stage {
  readonly image: string;
  readonly alias: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** Parses the repository's Dockerfile into stages. */
export function readDockerfile(path = join(REPO, "Dockerfile")): Stage[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!;
    if (/^\s*(#|$)/.test(text)) continue;
    while (text.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      text = text.trimEnd().slice(0, -1);
      i++;
      if (!/^\s*#/.test(lines[i]!)) text += ` ${lines[i]!.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(text);
    if (m === null) throw new Error(`Dockerfile line ${start + 1}: not an instruction: ${text}`);
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  const stages: Array<{ image: string; alias: string | undefined; instructions: Instruction[] }> = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const [image, as, alias] = ins.args.split(/\s+/).filter((s) => !s.startsWith("--"));
      stages.push({ image: image!, alias: as?.toUpperCase() === "AS" ? alias : undefined, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return stages;
}

/** The JSON array of an exec-form instruction (ENTRYPOINT ["node", ...]); throws on the shell form. */
export function execForm(ins: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ins.args);
  } catch {
    throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} must use the exec form (a JSON array), got: ${ins.args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} is not a JSON array of strings`);
  return parsed as string[];
}

/** The variables an ENV or ARG instruction declares. */
export function declaredNames(ins: Instruction): string[] {
  if (ins.keyword === "ARG") return [ins.args.split("=")[0]!.trim()];
  // ENV a=1 b="2 3" | ENV a 1 (legacy form: one variable)
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(ins.args)) return [ins.args.split(/\s+/)[0]!];
  return [...ins.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!);
}

/** The last instruction of a keyword in a stage. */
export const last = (stage: Stage, keyword: string): Instruction | undefined => [...stage.instructions].reverse().find((i) => i.keyword === keyword);
