// The contract between the chat layer and whatever produces answers (the sidecar client, or a fake in tests).

/** One event of a streamed answer. */
export type GenerateEvent =
  | { type: "delta"; text: string }
  | {
      type: "done";
      /** stop: the model ended the answer; length: max_new_tokens reached; cancelled: the signal fired. */
      reason: "stop" | "length" | "cancelled";
      usage: { promptTokens: number; completionTokens: number };
      timings: { firstTokenMs: number; totalMs: number };
    };

/** Sampling parameters of one answer; anything left out takes the backend's default (ChatGLM-6B chat()'s). */
export interface SamplingOptions {
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
}

export interface GenerateOptions {
  signal?: AbortSignal;
  maxNewTokens?: number;
  sampling?: SamplingOptions;
}

/** Where the answering engine stands, for the UI's status line and crash panel. */
export type BackendState = "starting" | "loading" | "ready" | "busy" | "crashed" | "stopping" | "stopped";

export interface BackendStatus {
  state: BackendState;
  /** Human words for the state: a load phase, an error message. */
  detail?: string;
  /** While loading: import, build, checkpoint, compile, warmup; and its progress 0..1 when known. */
  phase?: string;
  progress?: number;
  /** Last lines the engine printed on stderr, shown when it crashed. */
  stderrTail?: string[];
  /** While crashed: false when a restart would fail the same way (broken model files, missing packages). */
  restartable?: boolean;
  /** Where the engine's full log is, when there is one. */
  logPath?: string;
  /** e.g. "CPU", "Ascend:0". */
  device?: string;
  /** e.g. "mindformers 1.3.2 / mindspore 2.7.2". */
  engine?: string;
  /** Prompt + answer token limit of the loaded model. */
  seqLength?: number;
  /** The weights' precision ("int8") and why ("auto: int8 (float16 needs about 15.6 GB; …)"); `decodedInGraph`
   * when int8/int4 matrices are decoded one at a time inside the graph (Ascend/GPU: memory saved, not time). */
  precision?: { value: string; reason: string; decodedInGraph?: true };
}

export interface ChatBackend {
  /**
   * Streams the answer to a full prompt. Ends with exactly one `done` event, also when cancelled
   * (reason "cancelled"). Throws an Error with a string `code` when the engine fails or dies.
   */
  generate(prompt: string, options?: GenerateOptions): AsyncIterable<GenerateEvent>;
  /** Tokens of `text` as the loaded model counts them (including ChatGLM's [gMASK] and <sop>). */
  countTokens(text: string): Promise<number>;
  /** Current status, and a subscription to its changes; the returned function unsubscribes. */
  status(): BackendStatus;
  onStatus(listener: (status: BackendStatus) => void): () => void;
}
