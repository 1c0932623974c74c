// Turns a reply the sidecar lost into an error: after a quiet spell it asks, behind the request, whether the sidecar has it.
import { randomUUID } from "node:crypto";
import type { SidecarConnection } from "./connection.ts";
import { SidecarError } from "./errors.ts";

/** Quiet time on a request before the sidecar is asked about it (a small info_request; repeated while quiet). */
export const REPLY_PROBE_MS = 5000;

export interface ReplyWatch {
  stop(): void;
}

/**
 * Watches one shell request. The sidecar reads shell frames in order and answers info_request in its
 * read loop; a tokenize_reply is sent there too, before anything read after it. So an info_reply to a
 * probe sent after the request that does not list the request (as queued, running or answered lately)
 * means the request was lost: `onLost` gets SIDECAR_NO_REPLY. While the sidecar lists it, the wait goes
 * on without a limit (a first token may take minutes); a sidecar that dies or hangs is caught by its
 * exit and heartbeat, which fail the request on their own.
 */
export function watchForLostReply(connection: SidecarConnection, requestId: string, onLost: (error: SidecarError) => void, probeMs = REPLY_PROBE_MS): ReplyWatch {
  let heard = false;
  let probeId: string | undefined;
  const off = connection.onMessage((_channel, message) => {
    if (message.parent_id === requestId) heard = true;
    if (message.parent_id !== probeId || message.msg_type !== "info_reply") return;
    const known = (message.content as { known_ids?: unknown }).known_ids;
    if (!heard && Array.isArray(known) && !known.includes(requestId)) {
      stop();
      onLost(new SidecarError("SIDECAR_NO_REPLY", "the engine has no record of the request: it was lost on the way"));
    }
  });
  const timer = setInterval(() => {
    if (heard) return void (heard = false); // something came for it in the last spell: not quiet
    probeId = randomUUID().replaceAll("-", "");
    connection.send("shell", "info_request", { ids: [requestId] }, probeId).catch(() => {}); // a dead peer is the exit watch's
  }, probeMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    off();
  };
  return { stop };
}
