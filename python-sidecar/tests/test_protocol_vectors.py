"""The shared wire vectors (test/fixtures/protocol/vectors.json), checked against the Python half."""
from __future__ import annotations

import json
import os

import pytest

from glm_sidecar import memory, protocol

VECTORS_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "protocol", "vectors.json")
with open(VECTORS_PATH, encoding="utf-8") as _handle:
    VECTORS = json.load(_handle)


def test_both_halves_know_the_same_message_types():
    assert list(protocol.MESSAGE_TYPES) == VECTORS["message_types"]


def test_every_message_type_has_a_valid_vector():
    covered = set(v["decoded"]["msg_type"] for v in VECTORS["valid"])
    assert set(protocol.MESSAGE_TYPES) - covered == set()


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vector_decodes(vector):
    decoded = protocol.decode_body(bytes.fromhex(vector["hex"]))
    assert decoded == vector["decoded"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vector_is_refused_with_its_code(vector):
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.decode_body(bytes.fromhex(vector["hex"]))
    assert info.value.code == vector["code"]


def test_signed_frames():
    signed = VECTORS["signed"]
    key, body = bytes.fromhex(signed["key_hex"]), bytes.fromhex(signed["body_hex"])
    assert protocol.sign(key, body).hex() == signed["signature_hex"]
    assert protocol.decode_frames([bytes.fromhex(signed["signature_hex"]), body], key)["msg_type"] == "token"
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.decode_frames([b"\x00" * 32, body], key)
    assert info.value.code == "BAD_SIGNATURE"


def test_memory_vectors_carry_what_the_sidecar_reads_from_proc(tmp_path):
    status = tmp_path / "status"
    status.write_text("VmHWM:\t 2000 kB\nVmRSS:\t 1000 kB\n")
    keys = set(memory.read_usage(str(status)))
    carrying = [v for v in VECTORS["valid"] if v["decoded"]["msg_type"] == "memory" or "rss_bytes" in v["decoded"]["content"]]
    assert len(carrying) == 3
    for vector in carrying:
        assert keys <= set(vector["decoded"]["content"])
        assert all(isinstance(vector["decoded"]["content"][k], int) for k in keys)


def test_lone_surrogates_are_sent_as_replacement_characters():
    sanitized = VECTORS["sanitized"]
    units = sanitized["text_utf16_hex"]
    text = "".join(chr(int(units[i:i + 4], 16)) for i in range(0, len(units), 4))
    assert len(text) == 6  # the pair stays two surrogates here, as a JS string holds it
    envelope = dict(sanitized["decoded"], content={"text": text})
    body = protocol.encode_frames(envelope, b"k")[1]
    assert body.hex() == sanitized["hex"]
    assert protocol.decode_body(body) == sanitized["decoded"]


def test_a_refused_frame_names_its_request_where_readable():
    invalid = dict((v["name"], bytes.fromhex(v["hex"])) for v in VECTORS["invalid"])
    body = invalid["lone surrogate bytes in a string"]
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.decode_frames([protocol.sign(b"k", body), body], b"k")
    content, parent = protocol.refusal([protocol.sign(b"k", body), body], info.value)
    assert parent == "00000000000000000000000000000001" and content["refused_msg_type"] == "tokenize_request"
    assert content["ename"] == "FRAME_NOT_MSGPACK" and content["status"] == "error"
    content, parent = protocol.refusal([b"\0" * 32, body], protocol.ProtocolError("BAD_SIGNATURE", "x"))
    assert parent is None and content["refused_msg_type"] is None  # an unsigned frame's id is not trusted


def test_encode_then_decode_round_trips():
    envelope = protocol.make_envelope("token", {"text": "你好\n"}, "s", "p")
    assert protocol.decode_frames(protocol.encode_frames(envelope, b"k"), b"k") == envelope
