// --precision auto: float16 where it fits the memory there is (with a margin), else int8, else int4, else a refusal with the numbers.
import { formatBytes } from "../util/format.ts";
import { estimateMemory, type Device, type ModelShape, type Precision, type WeightPrecision } from "../model/memory-estimate.ts";

/** What auto tries, in order: float32 only when asked (it doubles float16's weights and is no faster on the kernels). */
export const AUTO_ORDER: readonly WeightPrecision[] = ["float16", "int8", "int4"];
/** A choice must leave this share of its estimate free: the estimate's promised accuracy (±10 % of measured peaks). */
export const AUTO_MARGIN = 0.1;
const MARGIN_PERCENT = Math.round(AUTO_MARGIN * 100);

export interface PrecisionChoice {
  precision: WeightPrecision;
  /** Words for the status line and --json: "--precision int8", "auto: about 15.6 GB fits in 20.0 GB of RAM available". */
  reason: string;
  /** True when --precision auto decided. */
  auto: boolean;
}

/** The memory a choice is judged against: host RAM (cgroup-aware) on CPU, the device's free memory on Ascend/GPU. */
export interface MemoryBudget {
  availableBytes: number;
  /** "RAM available", "free on the GPU", … */
  what: string;
}

export class PrecisionChoiceError extends Error {
  readonly code = "PRECISION_NOTHING_FITS";
  constructor(message: string, readonly needs: Record<string, number>, readonly availableBytes: number) {
    super(message);
    this.name = "PrecisionChoiceError";
  }
}

const needOf = (shape: ModelShape, device: Device, p: WeightPrecision): number => {
  const e = estimateMemory(shape, device, p);
  return device === "CPU" ? e.hostBytes : e.deviceBytes;
};

/** Whether `need` fits `available` with AUTO_MARGIN to spare. */
export const fitsWithMargin = (need: number, available: number): boolean => need * (1 + AUTO_MARGIN) <= available;

export interface ChoosePrecisionInput {
  shape: ModelShape;
  device: Device;
  requested: Precision;
  /** Unknown (a device whose memory is not probed before start): auto takes float16, its first choice. */
  budget?: MemoryBudget;
  /** MindFormers runs float32 on CPU and float16 on a device whatever --precision says. */
  engine?: "auto" | "mindformers" | "native" | "fake";
  /** --force: where nothing fits, auto takes the smallest instead of refusing. */
  force?: boolean;
  /** "ChatGLM-6B" or "this model", for the refusal. */
  label?: string;
}

/** The precision to run; throws PrecisionChoiceError (PRECISION_NOTHING_FITS) when auto finds nothing that fits. */
export function choosePrecision(input: ChoosePrecisionInput): PrecisionChoice {
  const { shape, device, budget } = input;
  if (input.engine === "mindformers") {
    const own = device === "CPU" ? "float32" : "float16";
    return { precision: own, reason: `MindFormers runs ${own} on ${device}`, auto: false };
  }
  if (input.requested !== "auto") return { precision: input.requested, reason: `--precision ${input.requested}`, auto: false };
  if (!budget) return { precision: "float16", reason: `auto: float16 (${device} memory is not known before the engine starts)`, auto: true };
  const f = formatBytes;
  const needs = AUTO_ORDER.map((p) => ({ p, need: needOf(shape, device, p) }));
  const fit = needs.find(({ need }) => fitsWithMargin(need, budget.availableBytes));
  const have = `${f(budget.availableBytes)} ${budget.what}`;
  if (fit) {
    const tooBig = needs.slice(0, needs.indexOf(fit)).map(({ p, need }) => `${p} needs about ${f(need)}`);
    const reason = tooBig.length
      ? `auto: ${tooBig.join(", ")}, more than ${have} with a ${MARGIN_PERCENT} % margin; ${fit.p} needs about ${f(fit.need)}`
      : `auto: about ${f(fit.need)} fits in ${have}`;
    return { precision: fit.p, reason, auto: true };
  }
  const all = needs.map(({ p, need }) => `${p} about ${f(need)}`).join(", ");
  if (input.force) {
    return { precision: "int4", reason: `auto with --force: int4, though nothing fits with a ${MARGIN_PERCENT} % margin (${all}; ${have})`, auto: true };
  }
  throw new PrecisionChoiceError(
    `${input.label ?? "the model"} on ${device} does not fit in any precision: it needs ${all} ` +
      `(each plus a ${MARGIN_PERCENT} % margin), and there is ${have}`,
    Object.fromEntries(needs.map(({ p, need }) => [p, need])), budget.availableBytes);
}
