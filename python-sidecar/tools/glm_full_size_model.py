"""Random GLM-6B at its real size (presets glm-6b, glm-6b-1layer), streamed to disk tensor by tensor."""
from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from tools import glm_ckpt_writer, make_tiny_model, tiny_model_tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PRESETS = {
    "glm-6b": {"num_layers": 28, "dir": "glm-6b-random"},
    "glm-6b-1layer": {"num_layers": 1, "dir": "glm-6b-1layer"},
}
HIDDEN = 4096
INNER = 16384
VOCAB = 130528
SPECIAL_BASE = 130000  # ice_text.model: [MASK] 130000, [gMASK] 130001, ... <sop> 130004, <eop> 130005, <dBLOCK> 130007
OUTPUTS = ("ice_text.model", "glm_6b.ckpt")  # no glm_config.json: the real model ships none either
CHUNK_VALUES = 2 * 1024 * 1024  # values per generated chunk (4 MB of float16)
WORKERS = max(1, min(4, os.cpu_count() or 1))
GB = 10 ** 9


class PresetError(RuntimeError):
    """A preset cannot be written (e.g. not enough disk space); the message says why."""


def default_out_dir(preset):
    return os.path.join(REPO, ".cache", PRESETS[preset]["dir"])


def source_hash(preset):
    h = hashlib.sha256()
    for name in ("make_tiny_model.py", "tiny_model_tokenizer.py", "glm_ckpt_writer.py", "glm_full_size_model.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    return "%s-preset-%s" % (h.hexdigest(), preset)


def padded_tokenizer():
    """The tiny tokenizer with UNUSED filler pieces before its 8 specials, so they sit at 130000..130007.

    Returns (model bytes, number of text pieces before the fillers). Fillers never come out of encoding; their
    embedding and lm_head rows are zero, so greedy decoding does not pick them either.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb
    import sentencepiece as spm

    data, _ids = tiny_model_tokenizer.build_tokenizer_model()
    proto = pb.ModelProto()
    proto.ParseFromString(data)
    specials = tiny_model_tokenizer.SPECIAL_PIECES
    text_pieces = len(proto.pieces) - len(specials)
    tail = [pb.ModelProto.SentencePiece() for _ in specials]
    for copy, piece in zip(tail, proto.pieces[text_pieces:]):
        copy.CopyFrom(piece)
    del proto.pieces[text_pieces:]
    for i in range(text_pieces, SPECIAL_BASE):
        piece = proto.pieces.add()
        piece.piece = "<unused_filler_%d>" % i
        piece.score = 0.0
        piece.type = pb.ModelProto.SentencePiece.UNUSED
    proto.pieces.extend(tail)
    out = proto.SerializeToString()
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(out)
    if [sp.PieceToId(p) for p in specials] != list(range(SPECIAL_BASE, SPECIAL_BASE + len(specials))):
        raise PresetError("padded tokenizer has its special pieces at the wrong ids")
    return out, text_pieces


def tensor_specs(num_layers, text_pieces):
    """[(name, shape, init, std, random row ranges)]; vocab rows of fillers, <eop> and padding ids stay zero."""
    eop = SPECIAL_BASE + 5
    vocab_rows = [(0, text_pieces), (SPECIAL_BASE, eop), (eop + 1, SPECIAL_BASE + 8)]
    specs = []
    for name, shape, init in make_tiny_model.parameter_plan(num_layers, HIDDEN, INNER, VOCAB):
        std = 0.02 if init == "vocab" else (shape[1] ** -0.5 if init == "matrix" else 0.0)
        specs.append((name, shape, init, std, vocab_rows if init == "vocab" else [(0, shape[0])]))
    return specs


def _chunk_jobs(specs):
    for t, (_name, shape, _init, _std, _rows) in enumerate(specs):
        step = max(1, CHUNK_VALUES // shape[1]) if len(shape) == 2 else shape[0]
        for c, r0 in enumerate(range(0, shape[0], step)):
            yield t, c, r0, min(shape[0], r0 + step)


def _make_chunk(specs, t, c, r0, r1):
    """Rows r0..r1 of tensor t as float16; each chunk has its own seed, so the bytes do not depend on threads."""
    import numpy as np

    _name, shape, init, std, ranges = specs[t]
    cols = shape[1] if len(shape) == 2 else 1
    if init in ("ones", "zeros"):
        return t, (np.ones if init == "ones" else np.zeros)((r1 - r0, cols), np.float16)
    rng = np.random.default_rng([make_tiny_model.SEED, t, c])
    out = np.zeros((r1 - r0, cols), np.float16)
    for lo, hi in ranges:
        lo, hi = max(lo, r0), min(hi, r1)
        if lo < hi:
            values = rng.standard_normal((hi - lo, cols), dtype=np.float32)
            values *= std
            out[lo - r0:hi - r0] = values
    return t, out


def _in_order(executor, fn, jobs, window):
    """executor.map with at most `window` results alive at once (map would queue every job up front)."""
    pending = deque()
    for job in jobs:
        pending.append(executor.submit(fn, *job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def checkpoint_size(specs):
    return sum(glm_ckpt_writer.tensor_record_size(name, shape, "Float16") for name, shape, _i, _s, _r in specs)


def is_up_to_date(out_dir, digest, ckpt_size):
    ckpt = os.path.join(out_dir, "glm_6b.ckpt")
    if not all(os.path.isfile(os.path.join(out_dir, n)) for n in OUTPUTS) or os.path.getsize(ckpt) != ckpt_size:
        return False
    try:
        with open(os.path.join(out_dir, make_tiny_model.STAMP), "r") as f:
            return f.read().strip() == digest
    except (IOError, OSError):
        return False


def _remove_stale_temps(out_dir):
    """Temp files of runs that were killed (their pid is gone) would hold gigabytes of disk."""
    for entry in os.listdir(out_dir):
        base, _sep, pid = entry.rpartition(".tmp-")
        if base in OUTPUTS and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os.remove(os.path.join(out_dir, entry))


def _check_disk(out_dir, needed):
    paths = [os.path.join(out_dir, n) for n in OUTPUTS]
    reusable = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    free = shutil.disk_usage(out_dir).free + reusable
    if free < needed + 64 * 1024 * 1024:
        raise PresetError("not enough disk space in %s: the model needs %.2f GB, only %.2f GB are free "
                          "(counting the old files it replaces)" % (out_dir, needed / GB, free / GB))


def _write_checkpoint(path, specs, label):
    started = time.time()
    total = checkpoint_size(specs)
    next_report = GB
    with open(path, "wb") as f, ThreadPoolExecutor(WORKERS) as executor:
        writer = glm_ckpt_writer.CheckpointWriter(f)
        results = _in_order(executor, lambda *job: _make_chunk(specs, *job), _chunk_jobs(specs), 2 * WORKERS + 2)
        for t, group in itertools.groupby(results, key=lambda item: item[0]):
            name, shape = specs[t][0], specs[t][1]
            writer.write_tensor(name, shape, "Float16", (chunk for _t, chunk in group))
            if writer.bytes_written >= next_report or t == len(specs) - 1:
                sys.stderr.write("%s: %5.2f / %.2f GB, %d/%d tensors (%s), %.0f s\n" % (
                    label, writer.bytes_written / GB, total / GB, t + 1, len(specs), name, time.time() - started))
                sys.stderr.flush()
                next_report = (writer.bytes_written // GB + 1) * GB
        f.flush()
        os.fsync(f.fileno())
    if writer.bytes_written != total:
        raise PresetError("%s: wrote %d bytes, expected %d" % (path, writer.bytes_written, total))


def generate_preset(preset, out_dir=None, force=False):
    """Write the preset's ice_text.model and glm_6b.ckpt into out_dir; False if they are already up to date."""
    started = time.time()
    out_dir = os.path.abspath(out_dir or default_out_dir(preset))
    os.makedirs(out_dir, exist_ok=True)
    num_layers = PRESETS[preset]["num_layers"]
    digest = source_hash(preset)
    specs = tensor_specs(num_layers, 0)  # sizes do not depend on which rows are random
    ckpt_size = checkpoint_size(specs)
    if not force and is_up_to_date(out_dir, digest, ckpt_size):
        print("%s up to date: %s" % (preset, out_dir))
        return False
    _remove_stale_temps(out_dir)
    _check_disk(out_dir, ckpt_size + 8 * 1024 * 1024)
    for name in (make_tiny_model.STAMP, "glm_config.json"):  # a stale tiny config would override the shape
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))
    sp_bytes, text_pieces = padded_tokenizer()
    specs = tensor_specs(num_layers, text_pieces)
    tmp_names = [os.path.join(out_dir, "%s.tmp-%d" % (n, os.getpid())) for n in OUTPUTS]
    try:
        with open(tmp_names[0], "wb") as f:
            f.write(sp_bytes)
        _write_checkpoint(tmp_names[1], specs, preset)
        for tmp, name in zip(tmp_names, OUTPUTS):
            os.replace(tmp, os.path.join(out_dir, name))
    finally:
        for tmp in tmp_names:
            if os.path.exists(tmp):
                os.remove(tmp)
    make_tiny_model.write_bytes_atomic(os.path.join(out_dir, make_tiny_model.STAMP), (digest + "\n").encode("ascii"))
    params = sum(int(shape[0]) * (int(shape[1]) if len(shape) == 2 else 1) for _n, shape, _i, _s, _r in specs)
    print("%s written to %s: glm_6b.ckpt %d bytes, ice_text.model %d bytes (%d pieces), %d params in %d tensors, "
          "layers=%d hidden=%d inner=%d vocab=%d, %.1f s" % (
              preset, out_dir, ckpt_size, len(sp_bytes), SPECIAL_BASE + 8, params, len(specs), num_layers, HIDDEN,
              INNER, VOCAB, time.time() - started))
    return True
