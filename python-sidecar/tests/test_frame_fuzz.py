"""Random bytes and random values at the sidecar's frame decoder (fixed seed): every frame gets an answer."""
from __future__ import annotations

import random

import msgpack

from glm_sidecar import protocol
from tools.sidecar_client import SidecarProcess

SEED = 22
KEY = b"k" * 32


def random_value(rng, depth=0):
    kinds = ["int", "float", "str", "bytes", "none", "bool"] + (["list", "map"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 2 ** 31, 2 ** 63 - 1, -2 ** 63, rng.randint(-10 ** 6, 10 ** 6)])
    if kind == "float":
        return rng.choice([0.5, -1e300, 1e16, float("inf"), float("nan")])
    if kind == "str":
        return "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0xd7ff), rng.randint(0xe000, 0x10ffff)]))
                       for _ in range(rng.randint(0, 12)))
    if kind == "bytes":
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 12)))
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return dict((random_value(rng, 3) if rng.random() < 0.2 else "k%d" % i, random_value(rng, depth + 1))
                for i in range(rng.randint(0, 4)))


def random_body(rng):
    """Bytes that are never a valid envelope: noise, cut msgpack, msgpack of non-envelopes, CESU-8 strings."""
    good = msgpack.packb(protocol.make_envelope("tokenize_request", {"text": "abc"}, "s"), use_bin_type=True)
    kind = rng.randint(0, 4)
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    if kind == 1:
        return good[:rng.randint(0, len(good) - 1)]
    if kind == 2:
        value = random_value(rng)
        if isinstance(value, dict):
            value.pop("v", None)
        return msgpack.packb(value, use_bin_type=True)
    if kind == 3:
        return good.replace(b"\xa3abc", b"\xa3a\xed" + bytes([rng.randint(0xa0, 0xbf)]))[:len(good)] + b"\x80"
    cut = bytearray(good)
    for _ in range(rng.randint(1, 4)):
        cut[rng.randrange(len(cut))] = rng.getrandbits(8)
    body = bytes(cut)
    try:
        protocol.decode_body(body)
        return b"\xc1"  # the flips happened to leave a valid envelope: use garbage instead
    except protocol.ProtocolError:
        return body


def test_the_decoder_raises_only_protocol_errors_and_every_refusal_can_be_answered():
    rng = random.Random(SEED)
    for _ in range(3000):
        body = random_body(rng)
        frames = rng.choice([[protocol.sign(KEY, body), body], [b"\0" * 32, body], [body], [protocol.sign(KEY, body), body, b""]])
        try:
            protocol.decode_frames(frames, KEY)
        except protocol.ProtocolError as error:
            content, parent = protocol.refusal(frames, error)
            assert content["ename"] == error.code and content["status"] == "error"
            assert parent is None or isinstance(parent, str)
            protocol.encode_frames(protocol.make_envelope("protocol_error", content, "s", parent), KEY)
        else:
            raise AssertionError("accepted %r" % body)


def test_random_frames_each_get_a_protocol_error_and_the_sidecar_serves_on():
    rng = random.Random(SEED)
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        peer = side.peers[side.shell]
        sent = 0
        for _ in range(300):
            body = random_body(rng)
            frames = [protocol.sign(side.key, body), body] if rng.random() < 0.8 else [b"\0" * 32, body]
            side.shell.send_multipart([peer] + frames)
            sent += 1
            reply = side.recv(side.shell, timeout_s=30)
            assert reply["msg_type"] == "protocol_error" and reply["content"]["status"] == "error", reply
        side.send(side.shell, "info_request", {})
        info = side.recv(side.shell)["content"]
        assert info["dropped_frames"] == sent and info["ready"] is True


def test_requests_with_random_contents_each_get_one_reply():
    rng = random.Random(SEED)
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        for _ in range(150):
            msg_type = rng.choice(["tokenize_request", "generate_request", "info_request"])
            content = dict((name, random_value(rng)) for name in rng.sample(
                ["text", "prompt", "max_new_tokens", "temperature", "top_p", "top_k", "seed", "do_sample",
                 "repetition_penalty", "ids"], rng.randint(0, 4)))
            request = side.send(side.shell, msg_type, content)
            reply_type = msg_type.replace("_request", "_reply")
            # Its reply, or a protocol_error where the frame itself is refused (e.g. a map with int keys).
            replies = side.recv_until(side.shell, lambda m: m["parent_id"] == request and m["msg_type"] in (
                reply_type, "protocol_error"), timeout_s=30)
            assert replies[-1]["content"]["status"] in ("ok", "error"), replies[-1]
