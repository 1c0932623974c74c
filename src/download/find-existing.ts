// Find before fetching: where a model file may already be on this machine (MindFormers, OpenI/ModelArts), and checking one.
import { copyFile, constants, readdir, rename, rm, stat, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { OrderedHasher, type DigestAlgorithm } from "./ordered-hasher.ts";
import { fsError } from "./errors.ts";

/**
 * Directories to look in, most specific first: MindFormers' own download folder (relative to the
 * working directory, as `checkpoint_download/glm/`), the c2net / openi SDK variables, and the
 * folders OpenI and ModelArts notebooks mount. Roots marked deep are also searched one level down
 * (c2net puts each pretrained model in its own sub-folder).
 */
export function candidateDirs(env: NodeJS.ProcessEnv, cwd: string): { dir: string; deep: boolean }[] {
  const fromEnv = [env.PRETRAIN_MODEL_PATH, env.DATASET_PATH].filter((d): d is string => Boolean(d));
  const dirs = [
    { dir: join(cwd, "checkpoint_download", "glm"), deep: false },
    ...fromEnv.map((dir) => ({ dir, deep: true })),
    { dir: "/tmp/pretrainmodel", deep: true },
    { dir: "/cache/pretrainmodel", deep: true },
    { dir: "/model", deep: true },
    { dir: "/dataset", deep: true },
    { dir: "/tmp/dataset", deep: true },
    { dir: "/cache", deep: false },
    { dir: "/cache/checkpoint_download/glm", deep: false },
    { dir: "/home/ma-user/work", deep: false },
    { dir: "/home/ma-user/work/checkpoint_download/glm", deep: false },
  ];
  const seen = new Set<string>();
  return dirs.filter((d) => !seen.has(resolve(d.dir)) && seen.add(resolve(d.dir)));
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** Existing files called `name` in the candidate dirs (and one level below deep ones). */
export async function findFiles(name: string, dirs: readonly { dir: string; deep: boolean }[]): Promise<string[]> {
  const found: string[] = [];
  for (const { dir, deep } of dirs) {
    if (await isFile(join(dir, name))) found.push(resolve(dir, name));
    if (!deep) continue;
    const subs = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const sub of subs) {
      if (sub.isDirectory() && (await isFile(join(dir, sub.name, name)))) found.push(resolve(dir, sub.name, name));
    }
  }
  return [...new Set(found)];
}

export interface Expectation {
  size: number | null;
  algorithm: DigestAlgorithm | null;
  digest: string | null;
  /** Why there is no digest to check (e.g. a multipart ETag); null when there is one or nothing was asked. */
  note: string | null;
}

/** Checks a whole file against what is expected: size first (cheap), then the digest in a worker thread. */
export async function fileMatches(path: string, expect: Expectation): Promise<{ ok: boolean; digest: string | null }> {
  const size = await stat(path).then((s) => s.size, () => -1);
  if (size < 0 || (expect.size !== null && size !== expect.size)) return { ok: false, digest: null };
  if (!expect.algorithm || !expect.digest) return { ok: true, digest: null };
  const digest = await new OrderedHasher(path, expect.algorithm).finish(size);
  return { ok: digest === expect.digest, digest };
}

/** Puts a found file at `target`: a symlink (no space used) or a copy (via `.partial`, then rename). */
export async function placeFoundFile(found: string, target: string, how: "link" | "copy"): Promise<void> {
  try {
    await rm(target, { force: true });
    if (how === "link") {
      await symlink(resolve(found), target);
      return;
    }
    const partial = `${target}.partial`;
    await copyFile(found, partial, constants.COPYFILE_FICLONE);
    await rename(partial, target);
  } catch (err) {
    throw fsError(err, `placing ${found} at ${target}`);
  }
}
