"""What the installed MindSpore documents about a primitive: its docstring (following "Refer to :func:`...`"
to the functional API), its supported platforms and its device notes (warnings and lines naming Ascend or GPU)."""
from __future__ import annotations

import re
from typing import Any, List, Optional

_REFER = re.compile(r"Refer to :func:`(mindspore\.[\w.]+)`")
_PLATFORMS = re.compile(r"Supported Platforms:\s*\n\s*([^\n]*)")
_EXAMPLES = re.compile(r"\n\s*Examples:\s*\n")
_DEVICE_WORDS = re.compile(r"\b(Ascend|GPU|aicpu|AICPU|AI CPU)\b|accuracy|precision", re.IGNORECASE)


def _resolve(ms: Any, dotted: str) -> Any:
    target = ms
    for part in dotted.split(".")[1:]:
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def primitive_doc(ms: Any, name: str) -> Optional[str]:
    """The primitive class's docstring plus the functional API's it refers to; None when neither exists."""
    ops = ms.ops
    holders = [ops, ops.operations, getattr(ops, "auto_generate", None)]
    texts = []  # type: List[str]
    for holder in holders:
        found = getattr(holder, name, None) if holder is not None else None
        if found is not None and found.__doc__:
            texts.append(found.__doc__)
            break
    if texts:
        refer = _REFER.search(texts[0])
        target = _resolve(ms, refer.group(1)) if refer else None
        if target is not None and target.__doc__:
            texts.append(target.__doc__)
    return "\n".join(texts) if texts else None


def platforms(doc: str) -> List[str]:
    found = _PLATFORMS.search(doc)
    return re.findall(r"``(\w+)``", found.group(1)) if found else []


def device_notes(doc: str) -> List[str]:
    """Sentences (whitespace-collapsed) before the examples that name Ascend, GPU or AI CPU or speak of accuracy
    or precision: what a device user must know. A sentence wrapped onto the next line keeps its tail."""
    lines = _EXAMPLES.split(doc)[0].splitlines()
    notes = []  # type: List[str]
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if line.startswith("``Ascend``") or not _DEVICE_WORDS.search(line):
            continue
        while not line.endswith((".", ":")) and index < len(lines) and lines[index].strip() \
                and not lines[index].strip().startswith(("-", "``")):
            line += " " + lines[index].strip()
            index += 1
        notes.append(" ".join(line.split()))
    return notes
