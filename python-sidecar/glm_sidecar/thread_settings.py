"""What the sidecar's threads share: the outbox the worker and the memory watch push to, how often idle loops wake."""
from __future__ import annotations

INBOX = "inproc://worker-outbox"
# How often idle loops wake to check for shutdown: shutdown answers within this, a dead parent is
# noticed within this plus 1 s, and idle CPU stays low.
IDLE_WAKE_MS = 500
