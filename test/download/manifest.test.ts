// Manifest URLs, mirror parsing and order, ETag-as-MD5 rules, backoff, the lock file and the state sidecar.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock } from "../../src/download/file-lock.ts";
import { etagDigest, md5FromEtag, parseContentRange } from "../../src/download/http-source.ts";
import { DEFAULT_BASE_URL, MODEL_MANIFEST, parseMirror, resolveMirrors, sourceUrls } from "../../src/download/manifest.ts";
import { planParts } from "../../src/download/part-plan.ts";
import { loadPartState, savePartState } from "../../src/download/part-state.ts";
import { backoffDelay } from "../../src/download/retry-policy.ts";

describe("manifest and mirrors", () => {
  it("has the two MindFormers URLs", () => {
    expect(MODEL_MANIFEST.map((e) => sourceUrls(e, [])[0])).toEqual([
      "https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/glm_6b.ckpt",
      "https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/ice_text.model",
    ]);
  });

  it("tries flags, then GLM_CHAT_MIRROR, then the default, each joined as a base URL", () => {
    const mirrors = resolveMirrors(["http://a/x"], { GLM_CHAT_MIRROR: "http://b/y/, http://a/x/" });
    expect(mirrors).toEqual(["http://a/x/", "http://b/y/"]);
    expect(sourceUrls(MODEL_MANIFEST[1]!, mirrors)).toEqual(["http://a/x/ice_text.model", "http://b/y/ice_text.model", `${DEFAULT_BASE_URL}ice_text.model`]);
  });

  it("rejects mirrors that are not http(s) URLs", () => {
    expect(() => parseMirror("nope")).toThrow(/not a URL/);
    expect(() => parseMirror("file:///tmp/")).toThrow(/http/);
  });
});

describe("server answers", () => {
  it("uses an ETag as MD5 only when it is 32 hex digits, not weak, not multipart", () => {
    expect(md5FromEtag('"0123456789ABCDEF0123456789abcdef"')).toBe("0123456789abcdef0123456789abcdef");
    expect(md5FromEtag('"0123456789abcdef0123456789abcdef-4"')).toBeNull();
    expect(md5FromEtag('W/"0123456789abcdef0123456789abcdef"')).toBeNull();
    expect(md5FromEtag(null)).toBeNull();
  });

  describe("says why an ETag is not a digest", () => {
    const hex = "0123456789abcdef0123456789abcdef";
    it.each([
      ["single-part upload (OBS, S3)", `"${hex}"`, hex, null],
      ["single-part upload, upper case (OSS)", `"${hex.toUpperCase()}"`, hex, null],
      ["bare hex, no quotes", hex, hex, null],
      ["multipart upload", `"${hex}-12"`, null, `size only: the ETag "${hex}-12" is from a multipart upload, not an MD5 of the file`],
      ["weak", `W/"${hex}"`, null, `size only: the ETag W/"${hex}" is weak, not a digest`],
      ["weak multipart", `W/"${hex}-3"`, null, `size only: the ETag W/"${hex}-3" is weak, not a digest`],
      ["nginx mtime-size", '"5f8a1c2e-3400000"', null, 'size only: the ETag "5f8a1c2e-3400000" is not a plain MD5'],
      ["SHA-256-long", `"${hex}${hex}"`, null, `size only: the ETag "${hex}${hex}" is not a plain MD5`],
      ["31 hex digits", `"${hex.slice(1)}"`, null, `size only: the ETag "${hex.slice(1)}" is not a plain MD5`],
      ["unbalanced quote", `"${hex}`, null, `size only: the ETag "${hex} is not a plain MD5`],
      ["absent", null, null, "size only: the server sent no ETag"],
      ["empty", "", null, "size only: the server sent no ETag"],
    ])("%s", (_name, etag, md5, note) => {
      expect(etagDigest(etag)).toEqual({ md5, note });
    });

    it("shortens a long ETag in the note", () => {
      expect(etagDigest(`"${"x".repeat(200)}"`).note!.length).toBeLessThan(130);
    });
  });

  it("parses Content-Range", () => {
    expect(parseContentRange("bytes 5-9/10")).toEqual({ from: 5, to: 9, total: 10 });
    expect(parseContentRange("bytes */10")).toBeNull();
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffDelay(1, 1000, () => 0)).toBe(500);
    expect(backoffDelay(3, 1000, () => 0.999)).toBeLessThanOrEqual(4000);
    expect(backoffDelay(3, 1000, () => 0.999)).toBeGreaterThan(3900);
    expect(backoffDelay(20, 1000, () => 0)).toBe(15_000);
  });
});

describe("files beside the download", () => {
  it("locks: a second taker is refused while the first holds it, and can take it after release", async () => {
    const dir = await mkdtemp(join(tmpdir(), "glm-lock-"));
    const path = join(dir, "f.lock");
    const release = await acquireLock(path, "f");
    await expect(acquireLock(path, "f")).rejects.toMatchObject({ code: "DOWNLOAD_LOCKED" });
    await release();
    await (await acquireLock(path, "f"))();
    await writeFile(path, "garbage");
    await (await acquireLock(path, "f"))();
    await writeFile(path, JSON.stringify({ pid: process.pid, host: `${hostname()}-other` }));
    await expect(acquireLock(path, "f")).rejects.toThrow(/other/);
    await rm(dir, { recursive: true });
  });

  it("round-trips the part state and rejects a damaged one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "glm-state-"));
    const path = join(dir, "f.partial.json");
    const parts = planParts(10, 4).map((p) => ({ start: p.start, end: p.end, written: 2, synced: 1 }));
    const state = { version: 2 as const, boot_id: "b", size: 10, etag: '"e"', url: "http://x/f", ranges: true, parts };
    await savePartState(path, state);
    expect(await loadPartState(path)).toEqual(state);
    await writeFile(path, (await readFile(path, "utf8")).replace('"size":10', '"size":11'));
    expect(await loadPartState(path)).toBeUndefined();
    await writeFile(path, "{");
    expect(await loadPartState(path)).toBeUndefined();
    await rm(dir, { recursive: true });
  });
});
