// Checks of command-line values at parse time, before anything slow: the engine's limits with their range, choices in any case, stray words.
import { InvalidArgumentError } from "commander";
import { parseSettingValue, SettingError } from "../chat/generation-settings.ts";
import { glmChatCommand } from "../config/invocation.ts";

/** A commander parser for a sampling or length setting: the same check and words as `/set NAME` (the engine's limits). */
export function settingArg(name: string, flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseSettingValue(name, value, flag) as number;
    } catch (error) {
      if (error instanceof SettingError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

/** A commander parser for one of `choices`, in any letter case (`--device gpu`), giving back their own spelling. */
export function choiceInAnyCase<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    const found = choices.find((c) => c.toLowerCase() === value.trim().toLowerCase());
    if (!found) throw new InvalidArgumentError(`${flag} must be one of ${choices.join(", ")} (in any case); got ${JSON.stringify(value)}.`);
    return found;
  };
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * What to say about words on the command line that are neither a command nor an option's value: a near miss of a
 * command ("pul") gets "did you mean pull?"; anything else is taken for a question, which goes after -p.
 */
export function strayWordsMessage(words: readonly string[], commands: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const first = words[0] ?? "";
  const near = commands
    .map((name) => ({ name, distance: editDistance(first.toLowerCase(), name) }))
    .filter((c) => c.distance <= Math.max(1, Math.floor(c.name.length / 3)) || (first.length >= 2 && c.name.startsWith(first.toLowerCase())))
    .sort((x, y) => x.distance - y.distance)[0];
  if (near && words.length === 1) return `error: unknown command '${first}' (did you mean ${near.name}?)`;
  const question = words.join(" ").replace(/"/g, '\\"');
  const commandList = commands.length ? `; the commands are ${commands.join(", ")}` : "";
  return `error: '${words.join(" ")}' is not a command, and a question goes after -p: ${glmChatCommand(env)} -p "${question}"${commandList}`;
}
