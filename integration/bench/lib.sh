# Helpers shared by the side-by-side benchmark scripts (receive.sh, relay.sh, imap.sh).
# Source it after setting NAME (the script's name, for messages), RESULTS (the results
# file), POSTERN (the binary) and, before calling pcli, PDIR (Postern's bench directory).

die() { echo "$NAME: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

# kv LINE KEY: the value of KEY=... in a RESULT line ("" if absent).
kv() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p" | head -1; }

# record CMD...: runs a measurement, echoes its RESULT line(s) to stdout and the results
# file, and keeps them in LAST.
record() {
  local out
  out=$("$@" | grep '^RESULT') || die "measurement failed: $*"
  echo "$out" | tee -a "$RESULTS"
  LAST=$out
}

# pcli ARGS...: the postern CLI against the benchmark's config.
pcli() { "$POSTERN" --config "$PDIR/postern.toml" "$@"; }

# listener NAME: the address `postern status --json` reports for a listener ("" if none).
listener() {
  pcli status --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("listeners", {}).get(sys.argv[1], ""))' "$1"
}

# bench_dir_on_disk: creates BENCH_DIR and refuses tmpfs (where fsync costs nothing, so a
# durability benchmark would measure nothing); sets FS to the file system type.
bench_dir_on_disk() {
  mkdir -p "$BENCH_DIR"; chmod 0755 "$BENCH_DIR"
  FS=$(stat -f -c %T "$BENCH_DIR")
  if [ "$FS" = tmpfs ] && [ "${ALLOW_TMPFS:-0}" != 1 ]; then
    die "$BENCH_DIR is on tmpfs, where fsync costs nothing; set BENCH_DIR to a directory on a real disk"
  fi
}

# postern_version: the checkout's version, for the results header.
postern_version() { git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown; }
