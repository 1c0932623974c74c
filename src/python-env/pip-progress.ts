// Reads pip's output line by line into a progress summary: phase, packages seen, bytes downloaded.

export interface PipProgress {
  phase: "resolving" | "downloading" | "building" | "installing" | "done";
  /** Requirements pip has looked at so far (collected, found satisfied or processed from a file). */
  packagesSeen: number;
  /** The package pip is on now, e.g. "numpy". */
  current: string | undefined;
  /** Packages being installed, once pip says ("Installing collected packages: a, b, c"). */
  installing: number | undefined;
  /** Bytes of finished downloads plus the running one (its announced size, or its raw progress where pip reports it). */
  downloadedBytes: number;
  /** While installing: packages already in place (pip prints nothing then; glm-chat counts their .dist-info folders). */
  installedSoFar?: number;
}

export const INITIAL_PIP_PROGRESS: PipProgress = { phase: "resolving", packagesSeen: 0, current: undefined, installing: undefined, downloadedBytes: 0 };

/** Bookkeeping for the file being downloaded, kept beside the progress the caller sees. */
export interface PipReadState {
  progress: PipProgress;
  /** Size pip announced for the running download, and bytes reported by `--progress-bar raw`. */
  fileSize: number;
  fileDone: number | undefined;
  /** Bytes of downloads that have finished. */
  finishedBytes: number;
}

export const initialPipReadState = (): PipReadState => ({ progress: INITIAL_PIP_PROGRESS, fileSize: 0, fileDone: undefined, finishedBytes: 0 });

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "18.3 MB" → 18300000; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^([\d.]+)\s*([kKMG]i?B|B)$/.exec(text.trim());
  if (!m?.[1] || !m[2] || UNITS[m[2]] === undefined) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]]!);
}

/** A requirement's name from "numpy==1.26 (from -r x.txt (line 2))", "./pkg-0.1-py3-none-any.whl", "six in /usr/lib/…". */
function packageName(spec: string): string {
  const first = spec.trim().split(/[\s;]/)[0] ?? "";
  const file = first.split("/").pop() ?? first;
  return (/\.(whl|tar\.gz|zip)$/.test(file) ? file.split("-")[0] : file.split(/[=<>!~[(]/)[0]) ?? first;
}

function finishFile(s: PipReadState): PipReadState {
  return { ...s, finishedBytes: s.finishedBytes + s.fileSize, fileSize: 0, fileDone: undefined };
}

function withBytes(s: PipReadState, progress: Partial<PipProgress>): PipReadState {
  const running = s.fileDone ?? s.fileSize;
  return { ...s, progress: { ...s.progress, ...progress, downloadedBytes: s.finishedBytes + running } };
}

/** The next state after one line of pip's output; lines it does not know leave the progress as it is. */
export function readPipLine(s: PipReadState, rawLine: string): PipReadState {
  const line = rawLine.trim();
  let m: RegExpExecArray | null;
  if ((m = /^(?:Collecting|Processing|Obtaining) (.+)$/.exec(line))) {
    const next = finishFile(s);
    return withBytes(next, { phase: "resolving", packagesSeen: s.progress.packagesSeen + 1, current: packageName(m[1]!) });
  }
  if ((m = /^Requirement already satisfied: (.+)$/.exec(line))) {
    return withBytes(s, { packagesSeen: s.progress.packagesSeen + 1, current: packageName(m[1]!) });
  }
  if ((m = /^Downloading (\S+)(?: \((.+)\))?$/.exec(line))) {
    const next = finishFile(s);
    return withBytes({ ...next, fileSize: parseSize(m[2] ?? "") ?? 0 }, { phase: "downloading" });
  }
  // pip >= 24.1 with --progress-bar raw: "Progress 1048576 of 18300000", several times a second.
  if ((m = /^Progress (\d+) of (\d+)$/.exec(line))) {
    const total = Number(m[2]);
    return withBytes({ ...s, fileDone: Number(m[1]), fileSize: total > 0 ? total : s.fileSize }, {});
  }
  if ((m = /^Building wheels? for (\S+)/.exec(line))) return withBytes(finishFile(s), { phase: "building", current: m[1] });
  if ((m = /^Installing collected packages: (.+)$/.exec(line))) {
    return withBytes(finishFile(s), { phase: "installing", installing: m[1]!.split(",").length, current: undefined });
  }
  if (/^Successfully installed /.test(line)) return withBytes(finishFile(s), { phase: "done", current: undefined });
  return s;
}
