#!/usr/bin/env bash
# bench/profile.sh - where W1's and W2's time goes, for whoever optimizes the library.
#
#   bench/profile.sh [BUILD]     (BUILD defaults to build/; needs perf and valgrind)
#
# Makes the bench keys (bench/run.py --make-keys), then for W1 (outgoing) and W2 (incoming),
# Ed25519, with the database on tmpfs so the CPU side is seen apart from fdatasync:
#   - callgrind over pgpdesk_outgoing_process / pgpdesk_incoming_process only (instructions,
#     inclusive, per library function; deterministic, unaffected by other load), 200 messages;
#   - perf record with DWARF call graphs of 3 s of steady state (wall-clock CPU share,
#     kernel included);
#   - strace counting fdatasync per message on the real disk.
# Reports go to $OUT (default /tmp/pgpdesk-profile).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
bin=$build/bench/pgpdesk-bench
out=${OUT:-/tmp/pgpdesk-profile}
mkdir -p "$out"
ninja -C "$build" bench/pgpdesk-bench bench/bench-exec >/dev/null
[ -f "$out/keys/helpdesk-ed25519.fpr" ] ||
    python3 "$here/run.py" --build "$build" --make-keys "$out/keys" --algos ed25519

work=$(mktemp -d /dev/shm/pgpdesk-profile-XXXXXX)
disk=$(mktemp -d)
trap 'rm -rf "$work" "$disk"' EXIT
common=(--keys "$out/keys" --algo ed25519)

for w in w1 w2; do
    entry=pgpdesk_outgoing_process
    [ "$w" = w2 ] && entry=pgpdesk_incoming_process
    # The first message unlocks the private key (one S2K per key and subkey, under
    # openpgp_key_unlock): subtract that subtree, then divide by 201 for one message.
    echo "== $w: callgrind, $entry only, 201 messages"
    valgrind --tool=callgrind --toggle-collect="$entry" --callgrind-out-file="$out/$w.callgrind" \
        "$bin" "$w" "${common[@]}" --work "$work" --warmup 0 --seconds 0 --min-ops 201 \
        --max-ops 201 >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out/$w.callgrind" 2>/dev/null |
        grep -E "/lib/[a-z-]+\.c:|rnp_op|botan_|sqlite3_(step|prepare)|g_mime_parser" |
        sed -n 1,40p >"$out/$w.callgrind.txt"
    cat "$out/$w.callgrind.txt"

    echo "== $w: perf, 3 s of steady state"
    perf record -q -F 2000 --call-graph dwarf,16384 -o "$out/$w.perf.data" \
        "$bin" "$w" "${common[@]}" --work "$work" --seconds 3 --warmup 0.5 >/dev/null 2>&1
    perf report -i "$out/$w.perf.data" --children --sort sym --stdio -g none \
        --percent-limit 2 2>/dev/null | grep -E "^ +[0-9]" | grep -v "0x0000" |
        sed -n 1,60p >"$out/$w.perf.txt"
    cat "$out/$w.perf.txt"

    echo "== $w: fdatasync per message on $(df --output=source "$disk" | tail -1)"
    for n in 1 201; do
        strace -f -e trace=fdatasync,fsync -o "$disk/strace.$n" "$bin" "$w" "${common[@]}" \
            --work "$disk" --warmup 0 --seconds 0 --min-ops $n --max-ops $n >/dev/null 2>&1
    done
    a=$(grep -c 'sync(' "$disk/strace.1")
    b=$(grep -c 'sync(' "$disk/strace.201")
    echo "$w: $(( (b - a) / 200 )) fdatasync per message" | tee "$out/$w.fsync.txt"
done
echo "reports in $out"
