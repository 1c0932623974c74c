// Writes a small JSON file atomically (temp file + rename): a kill at any moment leaves the old or the new content.
import { rename, writeFile } from "node:fs/promises";

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}
