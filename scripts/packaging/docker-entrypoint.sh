#!/bin/sh
# The container's entry: the admin tokens key from the Docker secret, extra flags from ARGS,
# everything else from KWMSERVERD_* variables.
set -e
secret=/run/secrets/kwmserverd_admin_tokens_key
if [ -z "${KWMSERVERD_ADMIN_TOKENS_KEY:-}" ] && [ -f "$secret" ]; then
  export KWMSERVERD_ADMIN_TOKENS_KEY="$secret"
fi
# shellcheck disable=SC2086 # ARGS is a list of flags
exec /usr/local/bin/kwmserverd serve ${ARGS:-} "$@"
