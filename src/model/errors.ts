// Errors of the model area, each with a stable code: what the user must fix about the model directory.

export type ModelErrorCode = "MODEL_FILE_MISSING" | "MODEL_DIR_NOT_A_DIRECTORY";

export class ModelError extends Error {
  override name = "ModelError";
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}
