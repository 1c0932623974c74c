"""The Python half of the glm-chat wire protocol (docs/protocol.md): envelopes, signing, codec."""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple

import msgpack

PROTOCOL_VERSION = 1

# Every message type of protocol v1. Adding one here without vectors fails the contract tests.
MESSAGE_TYPES = (
    "hello",
    "status",
    "info_request",
    "info_reply",
    "generate_request",
    "token",
    "generate_reply",
    "tokenize_request",
    "tokenize_reply",
    "interrupt_request",
    "interrupt_reply",
    "shutdown_request",
    "shutdown_reply",
    "memory",
    "protocol_error",
)

ENVELOPE_FIELDS = {
    "v": int,
    "msg_id": str,
    "msg_type": str,
    "session": str,
    "ts": (int, float),
    "content": dict,
}

MAX_FRAME_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    """A frame that cannot be accepted; `code` is stable and appears in docs/protocol.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def new_id() -> str:
    return uuid.uuid4().hex


def make_envelope(msg_type: str, content: Dict[str, Any], session: str,
                  parent_id: Optional[str] = None) -> Dict[str, Any]:
    return {
        "v": PROTOCOL_VERSION,
        "msg_id": new_id(),
        "msg_type": msg_type,
        "parent_id": parent_id,
        "session": session,
        "ts": time.time(),
        "content": content,
    }


def sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def encode_frames(envelope: Dict[str, Any], key: bytes) -> List[bytes]:
    """Envelope -> [signature, body] frames; strings with lone surrogates are sent with U+FFFD in their place."""
    try:
        body = msgpack.packb(envelope, use_bin_type=True)
    except UnicodeEncodeError:
        body = msgpack.packb(well_formed(envelope), use_bin_type=True)
    return [sign(key, body), body]


def well_formed(value: Any) -> Any:
    """`value` with every string (keys too) made valid Unicode: surrogate pairs joined, lone surrogates U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, dict):
        return dict((well_formed(k), well_formed(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [well_formed(v) for v in value]
    return value


def decode_body(body: bytes) -> Dict[str, Any]:
    """Msgpack bytes -> validated envelope (unsigned check only; see decode_frames)."""
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError("FRAME_TOO_LARGE", "frame of %d bytes" % len(body))
    try:
        value = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except UnicodeDecodeError as exc:  # e.g. a lone surrogate's bytes (CESU-8) in a string
        raise ProtocolError("FRAME_NOT_MSGPACK", "a string in the body is not valid UTF-8: %s" % exc)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ProtocolError("FRAME_NOT_MSGPACK", "body is not valid msgpack: %s" % exc)
    validate_envelope(value)
    return value


def decode_frames(frames: List[bytes], key: bytes) -> Dict[str, Any]:
    """[signature, body] -> envelope; raises ProtocolError for anything else."""
    if len(frames) != 2:
        raise ProtocolError("FRAME_COUNT", "expected 2 frames, got %d" % len(frames))
    signature, body = frames
    if not hmac.compare_digest(signature, sign(key, body)):
        raise ProtocolError("BAD_SIGNATURE", "signature does not match")
    return decode_body(body)


def refused_frame_ids(frames: List[bytes], error: ProtocolError) -> Dict[str, Optional[str]]:
    """What can be read of a refused frame's id and type, for the protocol_error reply: only from a frame
    whose signature is good, read leniently (bad UTF-8 replaced, any key type); None where unreadable."""
    found = {"msg_id": None, "msg_type": None}  # type: Dict[str, Optional[str]]
    if error.code in ("FRAME_COUNT", "BAD_SIGNATURE", "FRAME_TOO_LARGE") or len(frames) != 2:
        return found
    try:
        value = msgpack.unpackb(frames[1], raw=False, strict_map_key=False, unicode_errors="replace")
    except Exception:  # garbage: nothing to read
        return found
    if isinstance(value, dict):
        for name in found:
            if isinstance(value.get(name), str) and len(value[name]) <= 128:
                found[name] = value[name]
    return found


def refusal(frames: List[bytes], error: ProtocolError) -> Tuple[Dict[str, Any], Optional[str]]:
    """(content, parent_id) of the protocol_error that answers a refused frame: the stable code as ename."""
    refused = refused_frame_ids(frames, error)
    content = error_content(error.code, "the sidecar refused a frame: %s" % error)
    content["refused_msg_type"] = refused["msg_type"]
    return content, refused["msg_id"]


def validate_envelope(value: Any) -> None:
    if not isinstance(value, dict):
        raise ProtocolError("ENVELOPE_NOT_MAP", "envelope is not a map")
    for name, kind in ENVELOPE_FIELDS.items():
        field = value.get(name)
        if not isinstance(field, kind) or isinstance(field, bool):
            raise ProtocolError("ENVELOPE_FIELD", "envelope field %r is missing or has the wrong type" % name)
    parent = value.get("parent_id")
    if parent is not None and not isinstance(parent, str):
        raise ProtocolError("ENVELOPE_FIELD", "envelope field 'parent_id' has the wrong type")
    if value["v"] != PROTOCOL_VERSION:
        raise ProtocolError("VERSION_MISMATCH", "protocol version %r, expected %d" % (value["v"], PROTOCOL_VERSION))


def error_content(ename: str, evalue: str, traceback: Optional[List[str]] = None) -> Dict[str, Any]:
    """Content of an error reply: status 'error' with the exception's name, words and traceback lines."""
    return {"status": "error", "ename": ename, "evalue": evalue, "traceback": traceback or []}
