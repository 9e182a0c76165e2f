#!/bin/bash
# Runs a command with a real S3 server (Ceph RGW on loopback) started for it, e.g.
#   bash scripts/with-rgw.sh node --import tsx --test test/service/storage.test.ts
# The endpoint and keys are exported as S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY; the server is stopped afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rgw="$here/../shared/scripts/rgw.sh"
[ -f "$rgw" ] || { echo "with-rgw.sh: $rgw not found" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: with-rgw.sh COMMAND [ARGS...]" >&2; exit 2; }
vars=$(bash "$rgw" start | tail -n 1)
trap 'bash "$rgw" stop' EXIT
for kv in $vars; do export "${kv?}"; done
"$@"
