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


def test_encode_then_decode_round_trips():
    envelope = protocol.make_envelope("token", {"text": "你好\n"}, "s", "p")
    assert protocol.decode_frames(protocol.encode_frames(envelope, b"k"), b"k") == envelope
