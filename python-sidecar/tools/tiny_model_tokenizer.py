"""Train a tiny, deterministic SentencePiece model laid out like ChatGLM-6B's ice_text.model."""
from __future__ import annotations

import io
import os
import random

# MindSpore's generated *_pb2 modules only import under the pure-Python protobuf backend (mindspore sets this
# itself on import); if sentencepiece_model_pb2 loads protobuf first with upb, a later `import mindspore` fails.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

SPECIAL_PIECES = ["[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>"]
USER_PIECES = ["<n>", "<|tab|>"] + ["<|blank_%d|>" % n for n in range(2, 81)]
TARGET_PIECES = 800

_ZH_WORDS = (
    "你好 谢谢 我们 你们 他们 今天 明天 昨天 早上 晚上 中国 北京 上海 城市 首都 问题 回答 "
    "学习 工作 时间 朋友 老师 学生 电脑 手机 程序 代码 模型 语言 文字 天气 下雨 太阳 月亮 "
    "吃饭 喝水 睡觉 应该 怎么 什么 为什么 可以 不是 没有 知道 喜欢 需要 帮助 世界 人工 智能 "
    "机器 数据 训练 测试 开始 结束 一个 两个 三个 很多 非常 简单 重要 方法 系统 文件 终端 聊天"
).split()
_EN_WORDS = (
    "the a an is are was be to of and in on for with that this it you we they hello world "
    "model chat token text file code test run build data time day night city question answer "
    "python script tiny glm mind spore terminal help please thanks good bad new old open close "
    "read write print value list number string error warning start stop yes no one two three"
).split()
_PUNCT_ZH = ["，", "。", "？", "！", "：", "、"]
_PUNCT_EN = [",", ".", "?", "!", ":", ";", "(", ")", "-", "'", '"']


def corpus_lines(seed=20240601, n_lines=4000):
    """Yield deterministic mixed Chinese/English sentences."""
    rng = random.Random(seed)
    for _ in range(n_lines):
        parts = []
        for _ in range(rng.randint(3, 12)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(_ZH_WORDS) + (rng.choice(_PUNCT_ZH) if rng.random() < 0.2 else ""))
            elif r < 0.9:
                word = rng.choice(_EN_WORDS)
                if rng.random() < 0.15:
                    word = word.capitalize()
                parts.append(" " + word + (rng.choice(_PUNCT_EN) if rng.random() < 0.15 else ""))
            else:
                parts.append(" " + str(rng.randint(0, 999)))
        yield "".join(parts).strip()


def train_model_bytes():
    """Train the unigram model in-process and return the serialized ModelProto bytes (specials not yet moved)."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=corpus_lines(),
        model_writer=buf,
        model_type="unigram",
        vocab_size=TARGET_PIECES,
        hard_vocab_limit=False,
        character_coverage=1.0,
        byte_fallback=True,
        control_symbols=SPECIAL_PIECES,
        user_defined_symbols=USER_PIECES,
        unk_id=0, bos_id=1, eos_id=2, pad_id=3,
        unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>", pad_piece="<pad>",
        remove_extra_whitespaces=False,
        num_threads=1,
        shuffle_input_sentence=False,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    return buf.getvalue()


def move_specials_last(model_bytes):
    """Move the eight ChatGLM special pieces (CONTROL type) to the end of the vocabulary, in order."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(model_bytes)
    by_name = dict((p.piece, p) for p in proto.pieces)
    missing = [s for s in SPECIAL_PIECES if s not in by_name]
    if missing:
        raise RuntimeError("trained model lacks special pieces: %r" % missing)
    kept = [pb.ModelProto.SentencePiece() for _ in range(len(proto.pieces) - len(SPECIAL_PIECES))]
    specials = []
    i = 0
    for piece in proto.pieces:
        if piece.piece in SPECIAL_PIECES:
            continue
        kept[i].CopyFrom(piece)
        i += 1
    for name in SPECIAL_PIECES:
        p = pb.ModelProto.SentencePiece()
        p.CopyFrom(by_name[name])
        specials.append(p)
    del proto.pieces[:]
    proto.pieces.extend(kept + specials)
    return proto.SerializeToString()


def build_tokenizer_model():
    """Return (model_bytes, ids) where ids maps piece names to ids; verifies layout and a round trip."""
    import sentencepiece as spm

    data = move_specials_last(train_model_bytes())
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(data)
    n = sp.GetPieceSize()
    expected = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3, "<n>": 4}
    for k, name in enumerate(SPECIAL_PIECES):
        expected[name] = n - len(SPECIAL_PIECES) + k
    ids = dict((name, sp.PieceToId(name)) for name in expected)
    if ids != expected:
        raise RuntimeError("unexpected piece layout: %r != %r" % (ids, expected))
    for text in ["你好 hello", "北京 tiny<n>model<|tab|>x<|blank_3|>y", "未见过的字 ok"]:
        back = sp.DecodeIds(sp.EncodeAsIds(text))
        if back != text:
            raise RuntimeError("round trip failed: %r -> %r" % (text, back))
    ids["piece_count"] = n
    return data, ids
