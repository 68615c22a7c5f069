#!/usr/bin/env bash
# usage: [BENCH_DIR=/var/tmp/postern-bench-relay] [SHARED=<repo>/../shared/bench] [POSTERN=bin/postern]
#        [N=2000] [SIZE=4096] [SESSIONS=10] [LAT_N=200] [ROUNDS=3] [ALLOW_TMPFS=0]  integration/bench/relay.sh
#
# Sending mail through a smart host, side by side in one run on this machine (issue 5's
# benchmark; not a test). The smart host is Postfix's smtp-sink on 127.0.0.1:2600 (shared
# peerstack.sh); the load is the shared relay_throughput.py: N messages of SIZE bytes over
# SESSIONS sessions from loopback (trusted, so relaying needs no AUTH) to someone@external.test,
# timed until the sink has counted all N (end to end), then LAT_N messages one at a time,
# each timed from connect until the sink has counted it.
#   - Postfix (peerstack.sh start: Postfix on 2525, relayhost [127.0.0.1]:2600, no TLS on the
#     relay hop because smtp-sink has none),
#   - Postern (bin/postern, a temporary config: [relay] 127.0.0.1:2600, tls = "none", no AUTH,
#     the same TLS setting as Postfix's), relaying to the same sink,
# both up at once and measured in turn, ROUNDS times (these machines are shared and noisy:
# alternating rounds and medians keep a burst of outside load from deciding the ratio), then
# one summary: median end-to-end msgs/s of both and their ratio, and latency p50/p99.
#
# Each run works in a new directory BENCH_DIR/run.<time>/ with ext4's top-directory flag
# (chattr +T), so that Postfix's and Postern's state directories land in separate block groups;
# the directories of earlier runs are deleted when this script exits. Why: on ext4 without a
# journal (these VMs) each file creation scans past every inode freed in its block group in
# the last minute (six while the inode table block is dirty; recently_deleted() in
# fs/ext4/ialloc.c), and a relay deletes every queue file it creates, so two queues in one
# group slow each other down round after round (docs/BENCHMARKS.md, Sending). Spread, each
# server pays for its own deletions only, as on a machine of its own.
#
# Everything is on loopback and under BENCH_DIR, which must be on a real disk (both queues
# fsync before their 250). Needs root (peerstack runs Postfix), smtp-source, python3 and
# Debian's postfix dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved (see
# ../shared/bench/README.md). Processes this script starts are stopped when it exits.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
NAME=relay.sh
# shellcheck source=lib.sh
. "$REPO/integration/bench/lib.sh"
BENCH_DIR=${BENCH_DIR:-/var/tmp/postern-bench-relay}
POSTERN=${POSTERN:-$REPO/bin/postern}
N=${N:-2000}; SIZE=${SIZE:-4096}; SESSIONS=${SESSIONS:-10}; LAT_N=${LAT_N:-200}; ROUNDS=${ROUNDS:-3}
RUN=$BENCH_DIR/run.$(date -u +%Y%m%dT%H%M%SZ)
export PEERSTACK_ROOT=$RUN/peerstack
RESULTS=$BENCH_DIR/results.txt
SINK_LOG=$PEERSTACK_ROOT/log/sink.out
POSTERN_PID=""
PEERSTACK_STARTED=0



cleanup() {
  if [ -n "$POSTERN_PID" ] && kill -0 "$POSTERN_PID" 2>/dev/null; then
    kill -TERM "$POSTERN_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$POSTERN_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ "$PEERSTACK_STARTED" = 1 ]; then "$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true; fi
  local d
  for d in "$BENCH_DIR"/run.*; do
    if [ -e "$d" ] && [ "$d" != "$RUN" ]; then rm -rf "$d"; fi
  done
}
trap cleanup EXIT

preflight() {
  [ -x "$SHARED/relay_throughput.py" ] || die "shared bench scripts not found at $SHARED (set SHARED=)"
  [ "$(id -u)" = 0 ] || die "run as root: peerstack.sh starts Postfix (and smtp-sink as user postfix)"
  local t
  for t in smtp-source smtp-sink python3 postfix dovecot doveadm; do
    command -v "$t" >/dev/null || die "missing $t: apt-get install -y postfix dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved (preseed: postfix postfix/main_mailer_type select No configuration)"
  done
  bench_dir_on_disk
  mkdir "$RUN"
  local spread=no
  if chattr +T "$RUN" 2>/dev/null; then spread=yes; fi
  : > "$RESULTS"
  echo "# relay benchmark $(date -u +%FT%TZ) host=$(hostname) cpus=$(nproc) fs=$FS dir=$RUN spread(chattr +T)=$spread" | tee -a "$RESULTS"
  echo "# postern $(postern_version); $(postconf -d mail_version 2>/dev/null); relay hop: no TLS, no AUTH (smtp-sink has neither) for both" | tee -a "$RESULTS"
}

# relay_run PORT LABEL: the shared measurement against one server, its RESULT line labelled.
relay_run() {
  local out
  out=$(env N="$N" SIZE="$SIZE" SESSIONS="$SESSIONS" LAT_N="$LAT_N" SMTP_PORT="$1" \
    SINK_LOG="$SINK_LOG" FROM=alice@example.test RELAY_RCPT=someone@external.test \
    "$SHARED/relay_throughput.py" | grep '^RESULT') || die "measurement failed against $2"
  echo "$out label=$2" | tee -a "$RESULTS"
}

start_postfix() {
  say "Postfix relaying to smtp-sink (peerstack.sh, root $PEERSTACK_ROOT)"
  "$SHARED/peerstack.sh" wipe >/dev/null 2>&1 || true
  PEERSTACK_STARTED=1
  "$SHARED/peerstack.sh" start >&2 || die "peerstack.sh start failed (logs in $PEERSTACK_ROOT/log)"
}



start_postern() {
  [ -x "$POSTERN" ] || { say "building $POSTERN"; make -C "$REPO" build >&2; }
  PDIR=$RUN/postern
  mkdir -p "$PDIR"
  cat > "$PDIR/postern.toml" <<EOF
hostname    = "mail.example.test"
state_dir   = "state"
runtime_dir = "run"

[listen]
smtp        = "127.0.0.1:0"
submission  = ""
submissions = ""
imap        = ""
imaps       = ""
managesieve = ""
lmtp        = ""

[smtp]
reject_unknown_sender_domain = false

[tls]
self_signed = true

[relay]
host = "127.0.0.1"
port = 2600
tls  = "none"

[admin]
group = ""
EOF
  "$POSTERN" serve --config "$PDIR/postern.toml" > "$PDIR/postern.log" 2>&1 &
  POSTERN_PID=$!
  local i
  for i in $(seq 300); do
    pcli status --json >/dev/null 2>&1 && break
    kill -0 "$POSTERN_PID" 2>/dev/null || { tail -20 "$PDIR/postern.log" >&2; die "postern serve exited"; }
    sleep 0.1
  done
  pcli status --json >/dev/null || die "postern did not answer on its admin socket within 30s"
  pcli domain add example.test >/dev/null
  echo alicepw | pcli user add alice@example.test --password-stdin >/dev/null
  P_SMTP_PORT=$(listener smtp); P_SMTP_PORT=${P_SMTP_PORT##*:}
  echo "# postern pid=$POSTERN_PID smtp=127.0.0.1:$P_SMTP_PORT state=$PDIR/state" | tee -a "$RESULTS"
}

measure() {
  local r
  for r in $(seq "$ROUNDS"); do
    say "round $r of $ROUNDS: Postfix"
    relay_run 2525 postfix
    say "round $r of $ROUNDS: Postern"
    relay_run "$P_SMTP_PORT" postern
  done
  local left; left=$(find "$PDIR/state/queue" -maxdepth 1 -type f ! -name '*.*' 2>/dev/null | wc -l)
  echo "# postern queue files left after the runs: $left (expected 0)" | tee -a "$RESULTS"
  C_TP=$("$SHARED/summarize.py" "$RESULTS" | grep 'label=postfix')
  P_TP=$("$SHARED/summarize.py" "$RESULTS" | grep 'label=postern')
  echo "$C_TP" | tee -a "$RESULTS"
  echo "$P_TP" | tee -a "$RESULTS"
}

summary() {
  local c_rate p_rate
  c_rate=$(kv "$C_TP" e2e_msgs_per_s); p_rate=$(kv "$P_TP" e2e_msgs_per_s)
  {
    echo
    echo "SUMMARY relay, medians of $ROUNDS rounds: $N x $SIZE B over $SESSIONS sessions to smtp-sink (no TLS on the relay hop); latency $LAT_N x $SIZE B one at a time"
    printf '  %-40s %12s %12s\n' "" "Postfix" "Postern"
    printf '  %-40s %12s %12s\n' "accepted msgs/s" "$(kv "$C_TP" accept_msgs_per_s)" "$(kv "$P_TP" accept_msgs_per_s)"
    printf '  %-40s %12s %12s\n' "end-to-end msgs/s (all at the sink)" "$c_rate" "$p_rate"
    printf '  %-40s %12s %12s\n' "relayed / sent (median round)" "$(kv "$C_TP" relayed)/$N" "$(kv "$P_TP" relayed)/$N"
    printf '  %-40s %12s %12s\n' "latency p50 ms (connect -> at the sink)" "$(kv "$C_TP" lat_p50_ms)" "$(kv "$P_TP" lat_p50_ms)"
    printf '  %-40s %12s %12s\n' "latency p99 ms (connect -> at the sink)" "$(kv "$C_TP" lat_p99_ms)" "$(kv "$P_TP" lat_p99_ms)"
    awk -v c="$c_rate" -v p="$p_rate" 'BEGIN { printf "  Postern / Postfix, end-to-end msgs/s: %.2fx (goal >= 1.5x)\n", p / c }'
    printf '  per round, Postern / Postfix:'
    paste <(grep '^RESULT.*label=postfix' "$RESULTS" | sed 's/.*e2e_msgs_per_s=\([0-9.]*\).*/\1/') \
          <(grep '^RESULT.*label=postern' "$RESULTS" | sed 's/.*e2e_msgs_per_s=\([0-9.]*\).*/\1/') |
      awk '{ printf " %.2fx", $2 / $1 } END { print "" }'
    echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work on the machine skews both)"
    echo "  raw RESULT lines: $RESULTS"
  } | tee -a "$RESULTS"
}

preflight
start_postfix
start_postern
measure
summary
