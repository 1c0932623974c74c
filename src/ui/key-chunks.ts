// Keys Ink cannot tell apart or leaves unsplit: the Delete key vs Backspace, and several control keys in one chunk.
import type { Key } from "ink";

/** The Delete key (CSI 3 ~, maybe with modifiers); Ink calls it and the Backspace key's DEL byte both "delete". */
const FORWARD_DELETE = /^\u001b{1,2}\[3(;\d+)?~$/;

/** C0 controls that are keys (Ctrl+letter, Backspace), not the tab, line feed and CR that text may hold. */
const CONTROL_KEY = /[\u0001-\u0008\u000b\u000c\u000e-\u001a\u007f]/;
const CONTROL_KEYS = /([\u0001-\u0008\u000b\u000c\u000e-\u001a\u007f])/;

const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

/** Whether the raw sequence Ink reported as "delete" is the Delete key (else it is Backspace's DEL byte). */
export function isForwardDelete(sequence: string): boolean {
  return FORWARD_DELETE.test(sequence);
}

/**
 * Whether `input` is several keys Ink handed over as one unparsed string (tmux send-keys, a busy
 * event loop): it holds a control key besides other characters.
 */
export function holdsControlKeys(input: string): boolean {
  return input.length > 1 && CONTROL_KEY.test(input);
}

/** The keys of such a chunk, in order, each as Ink would have handed it over alone: control keys and runs of text. */
export function splitControlKeys(input: string): [string, Key][] {
  return input
    .split(CONTROL_KEYS)
    .filter((part) => part !== "")
    .map((part): [string, Key] => {
      if (part === "\u007f") return ["", { ...NO_KEY, delete: true }];
      if (part === "\b") return ["", { ...NO_KEY, backspace: true }];
      if (CONTROL_KEY.test(part)) return [String.fromCharCode(part.charCodeAt(0) + 96), { ...NO_KEY, ctrl: true }];
      return [part, NO_KEY];
    });
}
