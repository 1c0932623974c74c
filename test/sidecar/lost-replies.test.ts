// No message without a reply, with the real sidecar (fake engine): ill-formed strings, refused frames, lost requests.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { GenerateEvent } from "../../src/chat/backend.ts";
import { encodeFrames, makeEnvelope, sign } from "../../src/protocol/codec.ts";
import type { Envelope } from "../../src/protocol/messages.ts";
import type { SidecarConnection } from "../../src/sidecar/connection.ts";
import type { SidecarError } from "../../src/sidecar/errors.ts";
import { watchForLostReply } from "../../src/sidecar/reply-watch.ts";
import { SidecarBackend } from "../../src/sidecar/sidecar-backend.ts";
import { realSidecarLaunch, removeLaunchDirs } from "../e2e/real-sidecar.ts";

let backend: SidecarBackend | undefined;
afterEach(async () => backend?.close());
afterAll(removeLaunchDirs);

function fakeBackend(delay = "0") {
  backend = new SidecarBackend(realSidecarLaunch({ engine: "fake", extraArgs: ["--fake-token-delay", delay] }));
  return backend;
}

async function texts(events: AsyncIterable<GenerateEvent>): Promise<string> {
  let out = "";
  for await (const e of events) if (e.type === "delta") out += e.text;
  return out;
}

/** The next message whose parent is `id`. */
function replyTo(connection: SidecarConnection, id: string): Promise<Envelope> {
  return new Promise((resolve) => {
    const off = connection.onMessage((_c, m) => m.parent_id === id && (off(), resolve(m)));
  });
}

describe("no message without a reply", () => {
  it("strings with lone surrogates are counted and answered (sent as U+FFFD), short and long, and the sidecar stays ready", async () => {
    const b = fakeBackend();
    expect(await b.countTokens("a\ud800b")).toBe(1);
    expect(await b.countTokens(`${"x".repeat(100)} \udc00`)).toBe(2);
    expect(await texts(b.generate("a\ud800b c\udfff"))).toBe("echo: a\ufffdb c\ufffd ");
    expect(b.status().state).toBe("ready");
    expect(await b.countTokens("fine now")).toBe(2);
  });

  it("a frame the sidecar cannot decode is answered with a protocol_error naming the request", async () => {
    const b = fakeBackend();
    const { connection } = await b.start();
    // What the encoder wrote for "a\ud800b" before strings were made well-formed: CESU-8 bytes.
    const envelope = makeEnvelope("tokenize_request", { text: "a?b" }, connection.session);
    const body = Buffer.from(encodeFrames(envelope, connection.key)[1].toString("latin1").replace("\xa3a?b", "\xa5a\xed\xa0\x80b"), "latin1");
    const replied = replyTo(connection, envelope.msg_id);
    // The connection only sends well-formed frames; this reaches under it to send the bad one.
    const socket = (connection as unknown as { sockets: { shell: { send(frames: Buffer[]): Promise<void> } }; peers: Map<string, Buffer> });
    await socket.sockets.shell.send([socket.peers.get("shell")!, sign(connection.key, body), body]);
    const reply = await replied;
    expect(reply.msg_type).toBe("protocol_error");
    expect(reply.content).toMatchObject({ status: "error", ename: "FRAME_NOT_MSGPACK", refused_msg_type: "tokenize_request" });
    expect(await b.countTokens("still here")).toBe(2);
  });

  it("a request the sidecar has no record of fails with SIDECAR_NO_REPLY; one it is answering does not", async () => {
    const b = fakeBackend("5");
    const { connection } = await b.start();
    const lost = await new Promise<SidecarError>((resolve) => watchForLostReply(connection, "f".repeat(32), resolve, 20));
    expect(lost.code).toBe("SIDECAR_NO_REPLY");

    // A slow answer: probes go out while no token comes, and the sidecar lists the request; then it is interrupted.
    const request = makeEnvelope("generate_request", { prompt: "a b c", max_new_tokens: 3 }, connection.session);
    const failures: SidecarError[] = [];
    const listed = new Promise<void>((resolve) => {
      const off = connection.onMessage((_c, m) => {
        const known = (m.content as { known_ids?: string[] }).known_ids;
        if (m.msg_type === "info_reply" && known?.includes(request.msg_id)) (off(), resolve());
      });
    });
    const watch = watchForLostReply(connection, request.msg_id, (e) => failures.push(e), 20);
    const done = new Promise<Envelope>((resolve) => {
      const off = connection.onMessage((_c, m) => m.parent_id === request.msg_id && m.msg_type === "generate_reply" && (off(), resolve(m)));
    });
    await connection.send("shell", "generate_request", request.content, request.msg_id);
    await listed;
    await connection.send("control", "interrupt_request", { target_id: request.msg_id });
    expect((await done).content).toMatchObject({ status: "aborted" });
    watch.stop();
    expect(failures).toEqual([]);
  });
});
