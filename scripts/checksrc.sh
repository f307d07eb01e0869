#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Source rules `make test` enforces: clang-format clean, SPDX + purpose line, banned calls.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find common server worker ewssim include tests bench -name '*.[ch]')
mapfile -t extra < <(git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)
files+=("${extra[@]}")

if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/mse-format.$$; then
  echo "checksrc: files need clang-format (run 'make format'):"
  grep -o '^[^:]*\.[ch]' /tmp/mse-format.$$ | sort -u | sed 's/^/  /'
  status=1
fi
rm -f /tmp/mse-format.$$

# Unbounded or thread-unsafe calls; use snprintf, mse_buf, strtol-based parsing instead.
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|strtok|atoi|atol|gets|gmtime|localtime|asctime|ctime)[[:space:]]*\('
if grep -nE "$banned" "${files[@]}" | grep -v 'checksrc:allow'; then
  echo "checksrc: banned function used (see above)"
  status=1
fi

for f in "${files[@]}"; do
  case "$f" in */migrations.c) continue ;; esac
  if ! head -n 1 "$f" | grep -q 'SPDX-License-Identifier'; then
    echo "checksrc: $f lacks an SPDX line"
    status=1
  fi
  if ! sed -n 2p "$f" | grep -q '^/\*'; then
    echo "checksrc: $f lacks a one-sentence purpose comment on line 2"
    status=1
  fi
done

# The server's layers depend one way: no file includes a header of a layer above its own.
if ! /usr/bin/python3 scripts/checklayers.py .; then
  status=1
fi
exit $status
