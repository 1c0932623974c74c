// Ollama's /api on the chat core: chat and generate (NDJSON streams by default), tags, ps, version.
import { z } from "zod";
import { badRequest, checkModel, OLLAMA_MODEL_NAME } from "./api-errors.ts";
import { conversationOf, type JobResult, type ServeJob, type ServeMessage } from "./chat-job.ts";
import { contextHeaders, type RequestContext } from "./request-context.ts";
import { finiteNumber, repetitionPenalty, settingsFor, stopList, TEMPERATURE_MAX, wholeNumber } from "./request-settings.ts";

const options = z.object({
  num_predict: wholeNumber(-2).refine((n) => n !== 0, "must be -1, -2 or at least 1").nullish(),
  temperature: finiteNumber().min(0).max(TEMPERATURE_MAX).nullish(),
  top_p: finiteNumber().gt(0).max(1).nullish(),
  top_k: wholeNumber(0).nullish(),
  repeat_penalty: repetitionPenalty().nullish(),
  seed: wholeNumber(0).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
}).passthrough();

const common = {
  model: z.string({ required_error: "required (chatglm-6b)" }),
  stream: z.boolean().nullish(),
  format: z.unknown().optional(),
  options: options.nullish(),
};
const chatRequest = z.object({
  ...common,
  messages: z.array(z.object({ role: z.string(), content: z.string().nullish(), images: z.array(z.unknown()).nullish() }).passthrough()).min(1),
  tools: z.array(z.unknown()).nullish(),
}).passthrough();
const generateRequest = z.object({
  ...common,
  prompt: z.string().nullish(),
  system: z.string().nullish(),
  suffix: z.string().nullish(),
  images: z.array(z.unknown()).nullish(),
}).passthrough();

type Common = z.infer<z.ZodObject<typeof common>>;

function jobSettings(ctx: RequestContext, body: Common) {
  if (body.format !== undefined && body.format !== null && body.format !== "") throw badRequest("unsupported_value", "format (JSON mode) is not supported.", "format");
  const o = body.options ?? {};
  // num_predict -1 (no limit) and -2 (fill the context): as long as the model's window allows.
  const window = ctx.facts.status().seqLength ?? ctx.facts.defaults.maxNewTokens;
  const maxTokens = o.num_predict == null ? undefined : o.num_predict < 0 ? window : o.num_predict;
  return settingsFor(ctx.facts.defaults, { maxTokens, temperature: o.temperature, topP: o.top_p, topK: o.top_k, repetitionPenalty: o.repeat_penalty, seed: o.seed });
}

const ns = (ms: number) => Math.round(ms * 1e6);

/** The closing object's statistics, in Ollama's names (durations in nanoseconds), plus truncated_rounds. */
function doneFields(result: JobResult, startedMs: number) {
  return {
    done: true,
    done_reason: result.reason === "length" ? "length" : "stop",
    total_duration: ns(performance.now() - startedMs),
    load_duration: 0,
    prompt_eval_count: result.usage.promptTokens,
    prompt_eval_duration: ns(result.timings.firstTokenMs),
    eval_count: result.usage.completionTokens,
    eval_duration: ns(Math.max(0, result.timings.totalMs - result.timings.firstTokenMs)),
    truncated_rounds: result.context?.droppedRounds ?? 0,
  };
}

/** Streams one JSON object per line (the default) or answers one object when `stream` is false. */
async function respond(ctx: RequestContext, body: Common, job: ServeJob, piece: (text: string) => Record<string, unknown>): Promise<void> {
  const startedMs = performance.now();
  const head = () => ({ model: OLLAMA_MODEL_NAME, created_at: new Date().toISOString() });
  if (body.stream === false) {
    const result = await ctx.facts.runner.run(job, ctx.signal);
    ctx.usage = result.usage;
    if (result.reason !== "cancelled") ctx.send(200, { ...head(), ...piece(result.text), ...doneFields(result, startedMs) }, contextHeaders(result.context));
    return;
  }
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  ctx.streamError = (error) => line({ error: error.message });
  const result = await ctx.facts.runner.run(job, ctx.signal, {
    onStart: (context) => ctx.startStream("application/x-ndjson", contextHeaders(context)),
    onDelta: (text) => ctx.write(line({ ...head(), ...piece(text), done: false })),
  });
  ctx.usage = result.usage;
  if (result.reason !== "cancelled") ctx.end(line({ ...head(), ...piece(""), ...doneFields(result, startedMs) }));
}

export async function ollamaChat(ctx: RequestContext): Promise<void> {
  const body = chatRequest.parse(await ctx.json());
  checkModel(body.model, true);
  if (body.tools?.length) throw badRequest("unsupported_value", "tools are not supported by ChatGLM-6B.", "tools");
  const messages = body.messages.map((m, i): ServeMessage => {
    if (m.images?.length) throw badRequest("unsupported_content", `messages[${i}].images: ChatGLM-6B reads text only.`, `messages[${i}].images`);
    if (m.role !== "system" && m.role !== "user" && m.role !== "assistant") {
      throw badRequest("unsupported_value", `messages[${i}].role: ${JSON.stringify(m.role)} is not supported; use system, user or assistant.`, `messages[${i}].role`);
    }
    return { role: m.role, content: m.content ?? "" };
  });
  const conversation = conversationOf(messages);
  const settings = jobSettings(ctx, body);
  await respond(ctx, body, { ...conversation, settings, stop: stopList(body.options?.stop) }, (text) => ({ message: { role: "assistant", content: text } }));
}

export async function ollamaGenerate(ctx: RequestContext): Promise<void> {
  const body = generateRequest.parse(await ctx.json());
  checkModel(body.model, true);
  if (body.images?.length) throw badRequest("unsupported_content", "images: ChatGLM-6B reads text only.", "images");
  if (body.suffix) throw badRequest("unsupported_value", "suffix (insertion) is not supported.", "suffix");
  const settings = jobSettings(ctx, body);
  if (!body.prompt) {
    // Ollama's way to load a model: an empty prompt. The model is loaded at start, so this only reports it.
    ctx.send(200, { model: OLLAMA_MODEL_NAME, created_at: new Date().toISOString(), response: "", done: true, done_reason: "load" });
    return;
  }
  const conversation = conversationOf([...(body.system ? [{ role: "system" as const, content: body.system }] : []), { role: "user", content: body.prompt }]);
  await respond(ctx, body, { ...conversation, settings, stop: stopList(body.options?.stop) }, (text) => ({ response: text }));
}

function modelDetails(ctx: RequestContext) {
  return {
    name: OLLAMA_MODEL_NAME,
    model: OLLAMA_MODEL_NAME,
    modified_at: ctx.facts.startedAt.toISOString(),
    size: ctx.facts.modelBytes,
    digest: "",
    details: { parent_model: "", format: "mindspore", family: "chatglm", families: ["chatglm"], parameter_size: "6.2B", quantization_level: "" },
  };
}

export function ollamaTags(ctx: RequestContext): void {
  ctx.send(200, { models: [modelDetails(ctx)] });
}

export function ollamaPs(ctx: RequestContext): void {
  const state = ctx.facts.status().state;
  const loaded = state === "ready" || state === "busy";
  ctx.send(200, { models: loaded ? [{ ...modelDetails(ctx), expires_at: "2999-01-01T00:00:00Z", size_vram: 0 }] : [] });
}

export function ollamaVersion(ctx: RequestContext): void {
  ctx.send(200, { version: ctx.facts.version });
}
