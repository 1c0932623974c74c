// Compile-time guard for switch statements over tagged unions: the default branch must be unreachable.

export function checkExhaustive(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
