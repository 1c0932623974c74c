"""ChatGLM-6B's ice_text.model tokenizer on SentencePiece alone (the same ids as MindFormers' ChatGLMTokenizer)."""
from __future__ import annotations

import re
from typing import Dict, List

# The 8 control pieces at the end of ice_text.model, in id order (130000 [MASK] ... 130007 <dBLOCK>).
SPECIAL_PIECES = ("[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>")
LITERAL_SPECIALS = ("<sop>", "<eop>", "<unk>", "<pad>", "[MASK]")
MAX_BLANK = 80
TAB_PIECE = "<|tab|>"
PAD_ID = 3  # GLMConfig.pad_token_id; MindFormers drops it when decoding


def _blank_piece(length: int) -> str:
    return "<|blank_%d|>" % length


_BLANKS = re.compile(r"<\|blank_(\d+)\|>")


def _spaces(match) -> str:
    length = int(match.group(1))
    return " " * length if 2 <= length <= MAX_BLANK else match.group(0)


class IceTokenizer(object):
    """Encodes text the way ChatGLM was trained: newlines as <n>, tabs and runs of spaces as their own pieces."""

    def __init__(self, model_path: str, num_image_tokens: int = 0) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor()
        if not self._sp.Load(model_path):
            raise ValueError("%s is not a SentencePiece model" % model_path)
        self._offset = num_image_tokens
        self.vocab_size = self._sp.GetPieceSize() + num_image_tokens
        self.special_ids = {}  # type: Dict[str, int]
        for piece in SPECIAL_PIECES:
            piece_id = self._sp.PieceToId(piece)
            if piece_id == self._sp.unk_id() and piece != self._sp.IdToPiece(piece_id):
                raise ValueError("%s has no %s piece; it is not a ChatGLM-6B tokenizer" % (model_path, piece))
            self.special_ids[piece] = piece_id + num_image_tokens
        self.mask_id = self.special_ids["[MASK]"]
        self.gmask_id = self.special_ids["[gMASK]"]
        self.bos_id = self.special_ids["<sop>"]
        self.eos_id = self.special_ids["<eop>"]
        # Literal text of these pieces in a prompt becomes the token itself, as MindFormers' tokenizer does
        # for its special tokens (its bos, eos, unk, pad and mask; not [gMASK] and the rest).
        self._split = re.compile("(%s)" % "|".join(re.escape(p) for p in LITERAL_SPECIALS))

    @staticmethod
    def _preprocess(text: str) -> str:
        text = text.replace("\n", "<n>").replace("\t", TAB_PIECE)
        for length in range(MAX_BLANK, 1, -1):
            text = text.replace(" " * length, _blank_piece(length))
        return text

    def encode(self, text: str) -> List[int]:
        """Token ids of `text` alone, without the [gMASK] <sop> a prompt ends with."""
        ids = []  # type: List[int]
        for part in self._split.split(text):
            if not part:
                continue
            piece_id = self._sp.PieceToId(part) if self._split.fullmatch(part) else None
            if piece_id is not None:
                ids.append(piece_id + self._offset)
                continue
            pieces = self._sp.EncodeAsPieces(self._preprocess(part))
            ids.extend(self._sp.PieceToId(p) + self._offset for p in pieces)
        return ids

    def prompt_ids(self, text: str) -> List[int]:
        """What the model reads: the text's ids, then [gMASK] and <sop> (generation starts after <sop>)."""
        return self.encode(text) + [self.gmask_id, self.bos_id]

    def decode(self, ids: List[int]) -> str:
        pieces = [int(i) - self._offset for i in ids if int(i) != PAD_ID]
        text = self._sp.DecodeIds([i for i in pieces if 0 <= i < self._sp.GetPieceSize()])
        text = text.replace("<n>", "\n").replace(TAB_PIECE, "\t")
        return _BLANKS.sub(_spaces, text) if "<|blank_" in text else text
