#!/usr/bin/env bash
# The house rules that can be checked (HOUSE_STYLE.md): no import cycle between the
# crate's top-level modules, nor between the sub-modules of any of them; no Rust file
# over 400 lines of code (blank and comment-only lines not counted).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
python3 scripts/module-cycles.py src >/dev/null || { python3 scripts/module-cycles.py src; status=1; }
for dir in src/*/; do
    top="$(basename "$dir")"
    python3 scripts/module-cycles.py src "$top" >/dev/null || {
        echo "== cycle inside $top"; python3 scripts/module-cycles.py src "$top"; status=1; }
done

limit=400
while IFS= read -r file; do
    code=$(grep -cvE '^\s*(//.*)?$' "$file" || true)
    if [ "$code" -gt "$limit" ]; then
        echo "$file: $code lines of code (house limit $limit): split it by role"
        status=1
    fi
done < <(find src tests benches -name '*.rs' | sort)

[ "$status" -eq 0 ] && echo "house: no module cycles, no file over $limit lines of code"
exit "$status"
