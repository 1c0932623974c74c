// OpenAI's /v1 API on the chat core: models, chat completions and raw-prompt completions, plain or as server-sent events.
import { z } from "zod";
import { ApiError, badRequest, checkModel, MODEL_ID, openAiErrorBody } from "./api-errors.ts";
import { conversationOf, type JobResult, type ServeJob, type ServeMessage } from "./chat-job.ts";
import { contextHeaders, type RequestContext } from "./request-context.ts";
import { completionId, finiteNumber, repetitionPenalty, settingsFor, stopList, wholeNumber } from "./request-settings.ts";

const textPart = z.object({ type: z.string(), text: z.string().optional() }).passthrough();
const message = z.object({
  role: z.string(),
  content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
}).passthrough();

const common = {
  model: z.string({ required_error: "required (chatglm-6b)" }),
  max_tokens: wholeNumber(1).nullish(),
  temperature: finiteNumber().min(0).max(2).nullish(),
  top_p: finiteNumber().gt(0).max(1).nullish(),
  top_k: wholeNumber(0).nullish(),
  repetition_penalty: repetitionPenalty().nullish(),
  seed: wholeNumber(0).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: wholeNumber(1).nullish(),
  frequency_penalty: finiteNumber().min(-2).max(2).nullish(),
  presence_penalty: finiteNumber().min(-2).max(2).nullish(),
  logprobs: z.union([z.boolean(), finiteNumber()]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
};
const chatRequest = z.object({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: wholeNumber(1).nullish(),
  tools: z.array(z.unknown()).nullish(),
  response_format: z.object({ type: z.string() }).passthrough().nullish(),
}).passthrough();
const completionRequest = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: wholeNumber(1).nullish(),
}).passthrough();

type Common = z.infer<z.ZodObject<typeof common>>;

/** Fields ChatGLM-6B cannot honour are refused by name rather than silently ignored. */
function refuseUnsupported(body: Common): void {
  if ((body.n ?? 1) > 1) throw badRequest("unsupported_value", "n > 1 is not supported: the model answers one choice per request.", "n");
  for (const name of ["frequency_penalty", "presence_penalty"] as const) {
    if ((body[name] ?? 0) !== 0) {
      throw badRequest("unsupported_value", `${name} is not supported: ChatGLM-6B's sampler has repetition_penalty instead (a factor above 0, 1 = off); send that.`, name);
    }
  }
  if (body.logprobs) throw badRequest("unsupported_value", "logprobs are not supported.", "logprobs");
}

function messageText(m: z.infer<typeof message>, index: number): string {
  if (m.content == null) return "";
  if (typeof m.content === "string") return m.content;
  return m.content.map((part, p) => {
    if (part.type !== "text" || typeof part.text !== "string") {
      throw badRequest("unsupported_content", `messages[${index}].content[${p}]: only text parts are supported, not ${JSON.stringify(part.type)}.`, `messages[${index}].content`);
    }
    return part.text;
  }).join("");
}

function chatMessages(messages: z.infer<typeof message>[]): ServeMessage[] {
  return messages.map((m, i) => {
    if (m.role !== "system" && m.role !== "developer" && m.role !== "user" && m.role !== "assistant") {
      throw badRequest("unsupported_value", `messages[${i}].role: ${JSON.stringify(m.role)} is not supported; use system, user or assistant (the model has no tools).`, `messages[${i}].role`);
    }
    return { role: m.role, content: messageText(m, i) };
  });
}

const usageOf = (r: JobResult) => ({ prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens });
const finishReason = (r: JobResult) => (r.reason === "length" ? "length" : "stop");

/** Runs the job and answers plain JSON, or a stream of `data:` events ending in `data: [DONE]`. */
async function respond(ctx: RequestContext, body: Common, job: ServeJob, shape: {
  object: string;
  chunkObject: string;
  choice: (text: string, r: JobResult) => Record<string, unknown>;
  /** A chunk's choice; the first chunk (before any text) is left out when this returns undefined for it. */
  chunkChoice: (piece: { text?: string; first?: boolean; finish?: string }) => Record<string, unknown> | undefined;
}): Promise<void> {
  const id = completionId(shape.object === "chat.completion" ? "chatcmpl" : "cmpl");
  const created = Math.floor(Date.now() / 1000);

  if (!body.stream) {
    const result = await ctx.facts.runner.run(job, ctx.signal);
    ctx.usage = result.usage;
    if (result.reason === "cancelled") return;
    ctx.send(200, { id, object: shape.object, created, model: MODEL_ID, system_fingerprint: null, choices: [shape.choice(result.text, result)], usage: usageOf(result) }, contextHeaders(result.context));
    return;
  }
  const withUsage = body.stream_options?.include_usage === true;
  const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: shape.chunkObject, created, model: MODEL_ID, system_fingerprint: null, choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
  ctx.streamError = (error) => `data: ${JSON.stringify(openAiErrorBody(error))}\n\n`;
  const result = await ctx.facts.runner.run(job, ctx.signal, {
    onStart: (context) => {
      ctx.startStream("text/event-stream; charset=utf-8", contextHeaders(context));
      const first = shape.chunkChoice({ first: true });
      if (first) ctx.write(event([first]));
    },
    onDelta: (text) => ctx.write(event([shape.chunkChoice({ text })])),
  });
  ctx.usage = result.usage;
  if (result.reason === "cancelled") return;
  let tail = event([shape.chunkChoice({ finish: finishReason(result) })]);
  if (withUsage) tail += event([], { usage: usageOf(result) });
  ctx.end(`${tail}data: [DONE]\n\n`);
}

export async function chatCompletions(ctx: RequestContext): Promise<void> {
  const body = chatRequest.parse(await ctx.json());
  checkModel(body.model, true);
  refuseUnsupported(body);
  if (body.tools?.length) throw badRequest("unsupported_value", "tools are not supported by ChatGLM-6B.", "tools");
  if (body.response_format && body.response_format.type !== "text") throw badRequest("unsupported_value", "only response_format {type: \"text\"} is supported.", "response_format");
  const conversation = conversationOf(chatMessages(body.messages));
  const settings = settingsFor(ctx.facts.defaults, { ...body, maxTokens: body.max_completion_tokens ?? body.max_tokens, topP: body.top_p, topK: body.top_k, repetitionPenalty: body.repetition_penalty });
  await respond(ctx, body, { ...conversation, settings, stop: stopList(body.stop) }, {
    object: "chat.completion",
    chunkObject: "chat.completion.chunk",
    choice: (text, r) => ({ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finishReason(r) }),
    chunkChoice: ({ text, first, finish }) => ({
      index: 0,
      delta: first ? { role: "assistant", content: "" } : finish ? {} : { content: text },
      logprobs: null,
      finish_reason: finish ?? null,
    }),
  });
}

export async function completions(ctx: RequestContext): Promise<void> {
  const body = completionRequest.parse(await ctx.json());
  checkModel(body.model, true);
  refuseUnsupported(body);
  if ((body.best_of ?? 1) > 1) throw badRequest("unsupported_value", "best_of > 1 is not supported.", "best_of");
  if (body.suffix) throw badRequest("unsupported_value", "suffix (insertion) is not supported.", "suffix");
  const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
  if (prompt === "") throw badRequest("invalid_value", "prompt must not be empty.", "prompt");
  const settings = settingsFor(ctx.facts.defaults, { ...body, maxTokens: body.max_tokens, topP: body.top_p, topK: body.top_k, repetitionPenalty: body.repetition_penalty });
  const echo = body.echo === true ? prompt : "";
  await respond(ctx, body, { rounds: [], query: prompt, settings, stop: stopList(body.stop) }, {
    object: "text_completion",
    chunkObject: "text_completion",
    choice: (text, r) => ({ index: 0, text: echo + text, logprobs: null, finish_reason: finishReason(r) }),
    chunkChoice: ({ text, first, finish }) =>
      first && !echo ? undefined : { index: 0, text: first ? echo : (text ?? ""), logprobs: null, finish_reason: finish ?? null },
  });
}

/** GET /v1/models and /v1/models/chatglm-6b: the one model, with what is loaded. */
export function modelEntry(ctx: RequestContext): Record<string, unknown> {
  const status = ctx.facts.status();
  return {
    id: MODEL_ID,
    object: "model",
    created: Math.floor(ctx.facts.startedAt.getTime() / 1000),
    owned_by: "glm-chat",
    status: status.state,
    engine: status.engine ?? null,
    device: status.device ?? null,
    context_length: status.seqLength ?? null,
  };
}

export function listModels(ctx: RequestContext): void {
  ctx.send(200, { object: "list", data: [modelEntry(ctx)] });
}

export function getModel(ctx: RequestContext, id: string): void {
  if (id !== MODEL_ID) throw new ApiError(404, "invalid_request_error", "model_not_found", `The model ${JSON.stringify(id)} does not exist; this server has ${MODEL_ID}.`, "model");
  ctx.send(200, modelEntry(ctx));
}
