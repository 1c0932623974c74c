"""The real sidecar process with the fake engine: handshake, streaming, cancel, bad frames, shutdown."""
from __future__ import annotations

import msgpack

from glm_sidecar import protocol
from tools.sidecar_client import SidecarProcess


def test_handshake_stream_and_reply():
    with SidecarProcess(["--engine", "fake"]) as side:
        seen = side.wait_ready()
        hello = seen[0]
        assert hello["msg_type"] == "hello" and hello["content"]["protocol_version"] == 1
        assert [m["content"]["state"] for m in seen if m["msg_type"] == "status"][-1] == "ready"
        req = side.send(side.shell, "generate_request", {"prompt": "one two three", "max_new_tokens": 10})
        msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")
        tokens = [m["content"]["text"] for m in msgs if m["msg_type"] == "token"]
        assert tokens == ["echo: ", "one ", "two ", "three "]
        assert all(m["parent_id"] == req for m in msgs)
        reply = msgs[-1]["content"]
        assert reply["status"] == "ok" and reply["done_reason"] == "stop"
        assert reply["usage"] == {"prompt_tokens": 3, "completion_tokens": 4}


def test_first_token_is_the_engines_first_token_even_when_the_answer_decodes_to_nothing():
    with SidecarProcess(["--engine", "fake", "--fake-token-delay", "0.05"]) as side:
        side.wait_ready()
        side.send(side.shell, "generate_request", {"prompt": "<silent> a b c", "max_new_tokens": 10})
        msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")
        assert [m for m in msgs if m["msg_type"] == "token"] == []  # no visible text at all
        reply = msgs[-1]["content"]
        assert reply["usage"]["completion_tokens"] == 5
        # The first token came after one 50 ms step; the 4 after it took at least 4 more (sleep never returns early).
        # Stamped at the first visible text, first_token_ms would equal total_ms here.
        timings = reply["timings"]
        assert timings["total_ms"] - timings["first_token_ms"] >= 4 * 50 - 1


def test_length_limit_and_tokenize():
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        side.send(side.shell, "generate_request", {"prompt": "a b c d e", "max_new_tokens": 2})
        reply = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")[-1]["content"]
        assert reply["done_reason"] == "length" and reply["usage"]["completion_tokens"] == 2
        side.send(side.shell, "tokenize_request", {"text": "x y z"})
        assert side.recv(side.shell)["content"] == {"status": "ok", "count": 3}


def test_interrupt_on_control_channel_stops_generation():
    with SidecarProcess(["--engine", "fake", "--fake-token-delay", "0.05"]) as side:
        side.wait_ready()
        req = side.send(side.shell, "generate_request", {"prompt": " ".join(["w"] * 200), "max_new_tokens": 500})
        side.recv_until(side.shell, lambda m: m["msg_type"] == "token")
        side.send(side.control, "interrupt_request", {"target_id": req})
        assert side.recv(side.control)["content"]["interrupted"] == 1
        msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")
        reply = msgs[-1]["content"]
        assert reply["status"] == "aborted" and reply["done_reason"] == "cancelled"
        # stopped before the budget; how many tokens came first depends on the machine's load
        assert reply["usage"]["completion_tokens"] < 200


def test_bad_frames_get_a_protocol_error_and_service_continues():
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        side.send(side.shell, "generate_request", {"prompt": "evil"}, key=b"wrong key")
        peer = side.peers[side.shell]
        side.shell.send_multipart([peer, b"\x00" * 32, b"\xc1garbage"])
        side.shell.send_multipart([peer, b"only one frame"])
        side.send(side.shell, "no_such_request", {"x": 1})
        side.send(side.shell, "info_request", {})
        msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "info_reply")
        refusals = [m for m in msgs if m["msg_type"] == "protocol_error"]
        assert [m["content"]["ename"] for m in refusals] == ["BAD_SIGNATURE", "BAD_SIGNATURE", "FRAME_COUNT"]
        assert all(m["parent_id"] is None and m["content"]["status"] == "error" for m in refusals)
        info = msgs[-1]
        assert info["content"]["engine"] == "fake" and info["content"]["dropped_frames"] == 3


def test_a_string_with_a_lone_surrogate_gets_an_error_reply_naming_the_request():
    """What @msgpack/msgpack once sent for "a\\ud800b": CESU-8 bytes the sidecar's decoder refuses."""
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        for channel, msg_type in ((side.shell, "tokenize_request"), (side.control, "interrupt_request")):
            envelope = protocol.make_envelope(msg_type, {"text": "a?b", "target_id": None}, side.session)
            body = msgpack.packb(envelope, use_bin_type=True).replace(b"\xa3a?b", b"\xa5a\xed\xa0\x80b")
            channel.send_multipart([side.peers[channel], protocol.sign(side.key, body), body])
            reply = side.recv(channel)
            assert reply["msg_type"] == "protocol_error" and reply["parent_id"] == envelope["msg_id"]
            assert reply["content"]["ename"] == "FRAME_NOT_MSGPACK" and "UTF-8" in reply["content"]["evalue"]
            assert reply["content"]["refused_msg_type"] == msg_type
        # The same text, sent well-formed, is counted.
        side.send(side.shell, "tokenize_request", {"text": "a\ufffdb"})
        assert side.recv(side.shell)["content"]["status"] == "ok"


def test_info_request_says_which_generate_requests_it_has():
    with SidecarProcess(["--engine", "fake", "--fake-token-delay", "0.05"]) as side:
        side.wait_ready()
        running = side.send(side.shell, "generate_request", {"prompt": " ".join(["w"] * 100), "max_new_tokens": 100})
        side.send(side.shell, "info_request", {"ids": [running, "f" * 32, 7]})
        info = side.recv_until(side.shell, lambda m: m["msg_type"] == "info_reply")[-1]
        assert info["content"]["known_ids"] == [running]
        side.send(side.control, "interrupt_request", {"target_id": running})
        side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")
        side.send(side.shell, "info_request", {"ids": [running]})
        info = side.recv_until(side.shell, lambda m: m["msg_type"] == "info_reply")[-1]
        assert info["content"]["known_ids"] == [running]  # answered lately still counts as known
        side.send(side.shell, "info_request", {})
        assert "known_ids" not in side.recv(side.shell)["content"]


def test_bad_parameters_get_an_error_reply():
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        side.send(side.shell, "generate_request", {"prompt": "x", "top_p": "high"})
        reply = side.recv(side.shell)["content"]
        assert reply["status"] == "error" and reply["ename"] == "InvalidParameter"
        for bad in ({"top_p": 1.5}, {"temperature": -1.0}, {"top_k": -2}, {"repetition_penalty": 0.0},
                    {"max_new_tokens": 10 ** 16}, {"max_new_tokens": 1e16}, {"top_k": 2 ** 40}, {"seed": -1},
                    {"temperature": float("inf")}, {"top_p": float("nan")}, {"repetition_penalty": float("inf")}):
            side.send(side.shell, "generate_request", dict(bad, prompt="x"))
            reply = side.recv(side.shell)["content"]
            assert reply["ename"] == "InvalidParameter" and list(bad)[0] in reply["evalue"], bad


def test_an_interrupt_that_overtakes_its_request_still_cancels_it():
    """Control and shell are separate sockets: the interrupt can be read before the request it names."""
    with SidecarProcess(["--engine", "fake", "--fake-token-delay", "0.05"]) as side:
        side.wait_ready()
        request = protocol.make_envelope("generate_request", {"prompt": "a b c d e f g h", "max_new_tokens": 50},
                                         side.session)
        side.send(side.control, "interrupt_request", {"target_id": request["msg_id"]})
        assert side.recv(side.control)["content"]["interrupted"] == 0
        side.shell.send_multipart([side.peers[side.shell]] + protocol.encode_frames(request, side.key))
        reply = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")[-1]["content"]
        assert reply["status"] == "aborted" and reply["usage"]["completion_tokens"] == 0


def test_shutdown_request_ends_the_process():
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        side.send(side.control, "shutdown_request", {})
        assert side.recv(side.control)["msg_type"] == "shutdown_reply"
        assert side.proc.wait(timeout=120) == 0
