#!/bin/bash
# Dockerfile.ascend's entrypoint: the CANN environment (set_env.sh, which exec-form entrypoints do not source), then
# `glm-chat doctor --offline` on stderr so a bad device mount or driver shows before anything loads (skipped when
# the command is doctor itself, or with GLM_CHAT_SKIP_DOCTOR=1), then glm-chat with the arguments given.
for f in /usr/local/Ascend/ascend-toolkit/set_env.sh /usr/local/Ascend/nnal/atb/set_env.sh; do
  [ -f "$f" ] && . "$f" >/dev/null 2>&1
done
cli="$(cd "$(dirname "$0")/.." && pwd)/bin/glm-chat.js"
if [ "${1:-}" != "doctor" ] && [ "${GLM_CHAT_SKIP_DOCTOR:-}" != "1" ]; then
  node "$cli" doctor --offline >&2 || echo "glm-chat: doctor found problems (above); starting anyway" >&2
fi
exec node "$cli" "$@"
