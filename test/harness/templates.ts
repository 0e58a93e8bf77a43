import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { templatesDir } from "./paths.js";

/**
 * Renders `deploy/local/templates/<name>` (the same files stack.sh uses) with every
 * `@@KEY@@` replaced by `values[KEY]`, and writes it to `dest`.
 * @throws Error naming the first placeholder left without a value.
 */
export async function renderTemplate(name: string, dest: string, values: Record<string, string | number>): Promise<void> {
  let text = await readFile(join(templatesDir, name), "utf8");
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@@${key}@@`, String(value));
  const left = /@@[A-Z_]+@@/.exec(text);
  if (left !== null) throw new Error(`template ${name}: no value for ${left[0]}`);
  await writeFile(dest, text);
}
