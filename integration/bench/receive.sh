#!/usr/bin/env bash
# usage: [BENCH_DIR=/var/tmp/postern-bench] [SHARED=<repo>/../shared/bench] [POSTERN=bin/postern]
#        [N=2000] [SIZE=4096] [SESSIONS=10] [COUNT=200] [ALLOW_TMPFS=0]  integration/bench/receive.sh
#
# Receiving mail, side by side in one run on this machine (issue 3's benchmark; not a test):
#   1. the disk's durable-write ceiling (shared fsync_limit.py, in BENCH_DIR),
#   2. the classic stack, Postfix -> LMTP -> Dovecot (shared peerstack.sh, root in BENCH_DIR):
#      smtp_throughput.sh (N x SIZE over SESSIONS sessions, delivered into Maildir) and
#      smtp_latency.py (COUNT messages one at a time, connect -> 250), memory after the load,
#   3. Postern (bin/postern, a temporary config, state dir in BENCH_DIR), measured the same way,
#      plus its peak RSS (VmHWM) after the load,
# then one summary: msgs/s of both and the ratio, p50/p99, the ceiling and Postern's share of it.
#
# Everything is on loopback and under BENCH_DIR, which must be on a real disk (not tmpfs: the
# point is fsync). Needs root (Postfix and Dovecot as peerstack runs them), smtp-source, python3
# and, for the classic stack, Debian's postfix dovecot-imapd dovecot-lmtpd dovecot-sieve
# dovecot-managesieved (see ../shared/bench/README.md). Processes this script starts are stopped
# by their pid when it exits.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
NAME=receive.sh
# shellcheck source=lib.sh
. "$REPO/integration/bench/lib.sh"
BENCH_DIR=${BENCH_DIR:-/var/tmp/postern-bench}
POSTERN=${POSTERN:-$REPO/bin/postern}
N=${N:-2000}; SIZE=${SIZE:-4096}; SESSIONS=${SESSIONS:-10}; COUNT=${COUNT:-200}
export PEERSTACK_ROOT=$BENCH_DIR/peerstack
RESULTS=$BENCH_DIR/results.txt
POSTERN_PID=""
PEERSTACK_STARTED=0




cleanup() {
  if [ -n "$POSTERN_PID" ] && kill -0 "$POSTERN_PID" 2>/dev/null; then
    kill -TERM "$POSTERN_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$POSTERN_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ "$PEERSTACK_STARTED" = 1 ]; then "$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

preflight() {
  [ -x "$SHARED/smtp_throughput.sh" ] || die "shared bench scripts not found at $SHARED (set SHARED=)"
  [ "$(id -u)" = 0 ] || die "run as root: the classic stack (peerstack.sh) starts Postfix and Dovecot"
  local t
  for t in smtp-source python3 postfix dovecot doveadm; do
    command -v "$t" >/dev/null || die "missing $t: apt-get install -y postfix dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved swaks isync (preseed: postfix postfix/main_mailer_type select No configuration)"
  done
  bench_dir_on_disk
  : > "$RESULTS"
  echo "# receive benchmark $(date -u +%FT%TZ) host=$(hostname) cpus=$(nproc) fs=$FS dir=$BENCH_DIR" | tee -a "$RESULTS"
  echo "# postern $(postern_version); $(postconf -d mail_version 2>/dev/null); dovecot $(dovecot --version 2>/dev/null)" | tee -a "$RESULTS"
}

measure_fsync() {
  say "disk durable-write ceiling"
  record "$SHARED/fsync_limit.py" 10 200 "$BENCH_DIR/fsync-limit"; FSYNC=$LAST
}

measure_classic() {
  say "classic stack: Postfix + Dovecot (peerstack.sh, root $PEERSTACK_ROOT)"
  "$SHARED/peerstack.sh" wipe >/dev/null 2>&1 || true
  PEERSTACK_STARTED=1
  "$SHARED/peerstack.sh" start >&2 || die "peerstack.sh start failed (logs in $PEERSTACK_ROOT/log)"
  local md=$PEERSTACK_ROOT/mail/example.test/alice/Maildir
  record env N="$N" SIZE="$SIZE" SESSIONS="$SESSIONS" SMTP_PORT=2525 IMAP_PORT=1143 \
    MAILDIR="$md" "$SHARED/smtp_throughput.sh"; C_TP=$LAST
  record env COUNT="$COUNT" SIZE="$SIZE" SMTP_PORT=2525 MAILDIR="$md" "$SHARED/smtp_latency.py"; C_LAT=$LAST
  record env LABEL=classic_after_load "$SHARED/memory.sh"; C_MEM=$LAST
  "$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true
  PEERSTACK_STARTED=0
}



start_postern() {
  [ -x "$POSTERN" ] || { say "building $POSTERN"; make -C "$REPO" build >&2; }
  PDIR=$BENCH_DIR/postern
  rm -rf "$PDIR"; mkdir -p "$PDIR"
  # Only SMTP is needed; IMAP is asked for so that, once this build has it, the shared
  # script can verify the count over IMAP exactly as it does for Dovecot.
  cat > "$PDIR/postern.toml" <<EOF
hostname    = "mail.example.test"
state_dir   = "state"
runtime_dir = "run"

[listen]
smtp        = "127.0.0.1:0"
submission  = ""
submissions = ""
imap        = ""
imaps       = "127.0.0.1:0"
managesieve = ""
lmtp        = ""

[smtp]
reject_unknown_sender_domain = false

[tls]
self_signed = true

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
  # IMAPS: Postern allows no login on 143 before STARTTLS, which imaplib's plain client
  # does not do; the count is the same either way.
  P_IMAP_PORT=$(listener imaps); P_IMAP_PORT=${P_IMAP_PORT##*:}
  P_MAILDIR=$PDIR/state/mail/example.test/alice
  echo "# postern pid=$POSTERN_PID smtp=127.0.0.1:$P_SMTP_PORT imap=${P_IMAP_PORT:-none} state=$PDIR/state" | tee -a "$RESULTS"
}

# throughput_maildir: smtp_throughput.sh's measurement, for a server without IMAP: the same
# smtp-source command, the same three timestamps (start, last 250, all N in the Maildir), with
# the delivered count taken from the Maildir instead of IMAP STATUS (which the shared script
# reads only before and after the timed part).
throughput_maildir() { # port maildir
  local port=$1 md=$2 before after t0 t1 t2
  before=$(MAILDIR=$md "$SHARED/mailcount.py")
  t0=$(date +%s.%N)
  timeout 600 smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -f loadgen@client.test -t alice@example.test \
    -M client.test -S "smtp_throughput $SIZE" "127.0.0.1:$port"
  t1=$(date +%s.%N)
  MAILDIR=$md "$SHARED/mailcount.py" --wait $((before + N)) --timeout 600 >/dev/null || true
  t2=$(date +%s.%N)
  after=$(MAILDIR=$md "$SHARED/mailcount.py")
  awk -v n="$N" -v size="$SIZE" -v s="$SESSIONS" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v d=$((after - before)) 'BEGIN {
    a = t1 - t0; e = t2 - t0;
    printf "RESULT test=smtp_throughput n=%d size=%d sessions=%d reuse=0 accept_s=%.2f accept_msgs_per_s=%.1f deliver_s=%.2f deliver_msgs_per_s=%.1f delivered=%d ok=%d count_via=maildir\n",
      n, size, s, a, n / a, e, n / e, d, (d == n) }'
}

measure_postern() {
  say "Postern"
  start_postern
  if [ -n "$P_IMAP_PORT" ]; then
    record env N="$N" SIZE="$SIZE" SESSIONS="$SESSIONS" SMTP_PORT="$P_SMTP_PORT" IMAP_PORT="$P_IMAP_PORT" IMAP_SSL=1 \
      IMAP_PASS=alicepw MAILDIR="$P_MAILDIR" "$SHARED/smtp_throughput.sh"; P_TP=$LAST
  else
    say "this postern has no IMAP listener yet: delivered count from the Maildir"
    record throughput_maildir "$P_SMTP_PORT" "$P_MAILDIR"; P_TP=$LAST
  fi
  record env COUNT="$COUNT" SIZE="$SIZE" SMTP_PORT="$P_SMTP_PORT" MAILDIR="$P_MAILDIR" "$SHARED/smtp_latency.py"; P_LAT=$LAST
  record env LABEL=postern_after_load "$SHARED/memory.sh" "$POSTERN_PID"; P_MEM=$LAST
  P_HWM_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$POSTERN_PID/status")
  echo "RESULT test=peak_rss server=postern vmhwm_mib=$((P_HWM_KB / 1024))" | tee -a "$RESULTS"
  # The index must agree with the files: every delivered message was indexed before its 250.
  local files; files=$(MAILDIR=$P_MAILDIR "$SHARED/mailcount.py")
  echo "# postern maildir files after both runs: $files (expected $((N + COUNT)))" | tee -a "$RESULTS"
}

summary() {
  local c_rate p_rate ceiling
  c_rate=$(kv "$C_TP" deliver_msgs_per_s); p_rate=$(kv "$P_TP" deliver_msgs_per_s)
  ceiling=$(kv "$FSYNC" msgs_per_s)
  {
    echo
    echo "SUMMARY receive: $N x $SIZE B over $SESSIONS sessions into one Maildir; latency $COUNT x $SIZE B one at a time"
    printf '  %-34s %14s %14s\n' "" "Postfix+Dovecot" "Postern"
    printf '  %-34s %14s %14s\n' "accepted msgs/s" "$(kv "$C_TP" accept_msgs_per_s)" "$(kv "$P_TP" accept_msgs_per_s)"
    printf '  %-34s %14s %14s\n' "delivered msgs/s" "$c_rate" "$p_rate"
    printf '  %-34s %14s %14s\n' "delivered / sent" "$(kv "$C_TP" delivered)/$N" "$(kv "$P_TP" delivered)/$N"
    printf '  %-34s %14s %14s\n' "latency p50 ms (connect->250)" "$(kv "$C_LAT" p50_ms)" "$(kv "$P_LAT" p50_ms)"
    printf '  %-34s %14s %14s\n' "latency p99 ms (connect->250)" "$(kv "$C_LAT" p99_ms)" "$(kv "$P_LAT" p99_ms)"
    printf '  %-34s %14s %14s\n' "deliver p50/p99 ms (->in Maildir)" \
      "$(kv "$C_LAT" deliver_p50_ms)/$(kv "$C_LAT" deliver_p99_ms)" "$(kv "$P_LAT" deliver_p50_ms)/$(kv "$P_LAT" deliver_p99_ms)"
    printf '  %-34s %14s %14s\n' "memory after load, PSS sum MiB" "$(kv "$C_MEM" pss_sum_mib)" "$(kv "$P_MEM" pss_sum_mib)"
    printf '  %-34s %14s %14s\n' "peak RSS MiB (VmHWM)" "-" "$((P_HWM_KB / 1024))"
    awk -v c="$c_rate" -v p="$p_rate" -v f="$ceiling" 'BEGIN {
      printf "  Postern / classic, delivered msgs/s: %.2fx (goal >= 3x)\n", p / c;
      printf "  fsync ceiling (fsync_limit.py, 10 writers): %d msgs/s; classic reaches %.0f%%, Postern %.0f%% (goal >= 50%%)\n",
        f, 100 * c / f, 100 * p / f }'
    echo "  raw RESULT lines: $RESULTS"
  } | tee -a "$RESULTS"
}

preflight
measure_fsync
measure_classic
measure_postern
summary
