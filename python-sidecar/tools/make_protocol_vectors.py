"""Writes test/fixtures/protocol/vectors.json: the shared wire examples both test suites check.

Run after changing the protocol: `python python-sidecar/tools/make_protocol_vectors.py` (needs msgpack).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os

import msgpack

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "protocol", "vectors.json")
SESSION = "5e55105e55105e55105e55105e551050"
KEY = bytes(range(32))


def env(msg_type, content, parent=None, n=1):
    return {"v": 1, "msg_id": "%032x" % n, "msg_type": msg_type, "parent_id": parent,
            "session": SESSION, "ts": 1764000000.25, "content": content}


REQ = "%032x" % 100
VALID = [
    ("hello shell", env("hello", {"protocol_version": 1, "pid": 4242, "channel": "shell", "engine": "mindformers"})),
    ("status loading", env("status", {"state": "loading", "phase": "checkpoint", "progress": 0.5,
                                      "detail": "13415.9 MB", "elapsed_s": 12.5})),
    ("status failed", env("status", {"status": "error", "ename": "ModelFileMissing",
                                     "evalue": "glm_6b.ckpt not found in /models", "traceback": [],
                                     "state": "failed", "phase": "start", "elapsed_s": 0.01})),
    ("info request", env("info_request", {})),
    ("info reply", env("info_reply", {"status": "ok", "engine": "mindformers", "engine_version": "1.3.2",
                                      "mindspore_version": "2.7.2", "device_target": "CPU", "device_id": 0,
                                      "seq_length": 512, "ready": True}, REQ)),
    ("generate request", env("generate_request", {"prompt": "[Round 0]\n问：你好\n答：你好👋\n[Round 1]\n问：\t 再见\n答：",
                                                  "max_new_tokens": 256, "do_sample": True, "temperature": 0.95,
                                                  "top_p": 0.7, "top_k": 0, "repetition_penalty": 1.0}, None, 100)),
    ("token", env("token", {"text": "北京"}, REQ)),
    ("generate reply ok", env("generate_reply", {"status": "ok", "done_reason": "stop",
                                                 "usage": {"prompt_tokens": 12, "completion_tokens": 30},
                                                 "timings": {"first_token_ms": 41.5, "total_ms": 900.25}}, REQ)),
    ("generate reply aborted", env("generate_reply", {"status": "aborted", "done_reason": "cancelled",
                                                      "usage": {"prompt_tokens": 12, "completion_tokens": 3},
                                                      "timings": {"first_token_ms": 41.5, "total_ms": 99.5}}, REQ)),
    ("generate reply error", env("generate_reply", {"status": "error", "ename": "PromptTooLong",
                                                    "evalue": "the prompt is 600 tokens", "traceback": []}, REQ)),
    ("tokenize request", env("tokenize_request", {"text": "你好"})),
    ("tokenize reply", env("tokenize_reply", {"status": "ok", "count": 4}, REQ)),
    ("interrupt request", env("interrupt_request", {"target_id": REQ})),
    ("interrupt reply", env("interrupt_reply", {"status": "ok", "interrupted": 1}, REQ)),
    ("shutdown request", env("shutdown_request", {})),
    ("shutdown reply", env("shutdown_reply", {"status": "ok"}, REQ)),
    ("extra fields and unknown type are tolerated", dict(env("future_thing", {"x": [1, 2]}), extra_field=True)),
    ("status loading with memory", env("status", {"state": "loading", "phase": "checkpoint", "progress": 0.25,
                                                  "detail": None, "elapsed_s": 30.0, "rss_bytes": 4500000000,
                                                  "rss_peak_bytes": 4600000000})),
    ("memory while loading", env("memory", {"rss_bytes": 1250000000, "rss_peak_bytes": 1300000000})),
    ("memory while answering", env("memory", {"rss_bytes": 14500000000, "rss_peak_bytes": 15100000000}, REQ)),
    ("generate reply out of memory", env("generate_reply", {
        "status": "error", "ename": "OutOfMemory",
        "evalue": "out of memory: the engine used 23.9 GB of 24.7 GB (RuntimeError: Memory not enough: current free "
                  "memory size[0] is smaller than required size[536870912]); try --precision int8 or int4, a smaller "
                  "--seq-length, or a machine with more memory",
        "traceback": []}, REQ)),
    ("info request asking about ids", env("info_request", {"ids": [REQ]})),
    ("info reply with known ids", env("info_reply", {"status": "ok", "engine": "native", "engine_version": None,
                                                     "mindspore_version": "2.7.2", "device_target": "CPU",
                                                     "device_id": 0, "seq_length": 2048, "ready": True,
                                                     "known_ids": [REQ]}, REQ)),
    ("protocol error naming the refused request", env("protocol_error", {
        "status": "error", "ename": "FRAME_NOT_MSGPACK",
        "evalue": "the sidecar refused a frame: a string in the body is not valid UTF-8",
        "traceback": [], "refused_msg_type": "tokenize_request"}, REQ)),
    ("protocol error without an id", env("protocol_error", {
        "status": "error", "ename": "BAD_SIGNATURE", "evalue": "the sidecar refused a frame: signature does not match",
        "traceback": [], "refused_msg_type": None})),
]

# Strings with lone surrogates (UTF-16 code units, big-endian hex: JSON files cannot hold them as text):
# both encoders send them as U+FFFD, surrogate pairs as their one character.
UTF16_TEXT = "0061d8000062d83dde00dc00"
SANITIZED = env("tokenize_request", {"text": "a\ufffdb\U0001F600\ufffd"})


def drop(name):
    value = env("info_request", {})
    del value[name]
    return value


INVALID = [
    ("not msgpack", b"\xc1\xc1\xc1", "FRAME_NOT_MSGPACK"),
    ("truncated msgpack", msgpack.packb(env("token", {"text": "abc"}))[:-3], "FRAME_NOT_MSGPACK"),
    ("array instead of map", msgpack.packb([1, 2, 3]), "ENVELOPE_NOT_MAP"),
    ("missing msg_id", msgpack.packb(drop("msg_id")), "ENVELOPE_FIELD"),
    ("missing content", msgpack.packb(drop("content")), "ENVELOPE_FIELD"),
    ("msg_type not a string", msgpack.packb(dict(env("token", {}), msg_type=7)), "ENVELOPE_FIELD"),
    ("content not a map", msgpack.packb(dict(env("token", {}), content="hi")), "ENVELOPE_FIELD"),
    ("parent_id not a string", msgpack.packb(dict(env("token", {}), parent_id=5)), "ENVELOPE_FIELD"),
    ("wrong version", msgpack.packb(dict(env("token", {}), v=2)), "VERSION_MISMATCH"),
    # What @msgpack/msgpack's encoder wrote for "a\ud800b" before encoding made strings well-formed (CESU-8).
    ("lone surrogate bytes in a string", msgpack.packb(env("tokenize_request", {"text": "a?b"}), use_bin_type=True)
     .replace(b"\xa3a?b", b"\xa5a\xed\xa0\x80b"), "FRAME_NOT_MSGPACK"),
    ("integer map key", msgpack.packb(env("tokenize_request", {1: "x"})), "FRAME_NOT_MSGPACK"),
]


def main():
    body = msgpack.packb(VALID[6][1], use_bin_type=True)
    doc = {
        "message_types": ["hello", "status", "info_request", "info_reply", "generate_request", "token",
                          "generate_reply", "tokenize_request", "tokenize_reply", "interrupt_request",
                          "interrupt_reply", "shutdown_request", "shutdown_reply", "memory", "protocol_error"],
        "valid": [{"name": n, "hex": msgpack.packb(v, use_bin_type=True).hex(), "decoded": v} for n, v in VALID],
        "invalid": [{"name": n, "hex": b.hex(), "code": c} for n, b, c in INVALID],
        "sanitized": {"name": "lone surrogates are sent as U+FFFD", "decoded": SANITIZED, "text_utf16_hex": UTF16_TEXT,
                      "hex": msgpack.packb(SANITIZED, use_bin_type=True).hex()},
        "signed": {"key_hex": KEY.hex(), "body_hex": body.hex(),
                   "signature_hex": hmac.new(KEY, body, hashlib.sha256).hexdigest()},
    }
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    print("wrote %d valid and %d invalid vectors to %s" % (len(VALID), len(INVALID), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
