#!/usr/bin/env bash
# usage: [BENCH_DIR=/var/tmp/postern-bench] [SHARED=<repo>/../shared/bench] [POSTERN=bin/postern]
#        [ROUNDS=3] [N=2000] [SIZE=4096] [SESSIONS=10] [COUNT=200] [SETTLE=65] [ALLOW_TMPFS=0]
#        [TRACE=true] (Postern's [trace] enabled: false measures receiving without the trace)
#        integration/bench/receive.sh
#
# Receiving mail, side by side in one run on this machine (issue 3's benchmark; not a test).
# ROUNDS rounds, each in this order, each contender started fresh for its round and stopped
# after it, as separate replicates:
#   1. the disk's durable-write ceiling (shared fsync_limit.py), then the SMTP conversation's
#      ceiling: the same smtp-source load into smtp-sink (peerstack.sh sink-start), which
#      answers and stores nothing,
#   2. the classic stack, Postfix -> LMTP -> Dovecot (shared peerstack.sh): smtp_throughput.sh,
#      N x SIZE over SESSIONS sessions, delivered into Maildir, with its delivered-count check,
#   3. Postern (bin/postern, a temporary config), measured the same way.
# In the last round each stack also gets, after its throughput run, smtp_latency.py (COUNT
# messages one at a time, connect -> 250) and its memory after the load; Postern its peak RSS
# (VmHWM). The summary gives, per round, the three rates, Postern/classic and Postern's share of
# that round's ceiling, then the medians of those per-round figures.
#
# CPU: around each throughput step the script reads /proc/stat and the servers' process trees
# (the shared cpuacct.py), and smtp-source runs through a wrapper that records its own CPU
# time. It reports CPU per message: the server's, the load generator's, and the rest (kernel
# threads, the measuring scripts), and how busy the machine was; for the ceiling, the bare
# durable write's CPU per message, and for the sink, the bare SMTP conversation's (client,
# kernel, a server that does nothing). Their sum is a floor on the machine CPU any server needs
# per message for this load; the summary compares it with what half the fsync ceiling allows
# on this machine's CPUs, so it says whether that goal can be reached here at all.
#
# Why rounds: the disk's speed on these VMs swings within minutes (the ceiling has read 1,200
# and 7,600 msgs/s ten minutes apart), so one pass of each contender compares luck. Interleaved
# rounds put each contender next to a ceiling taken moments before, and medians of figures
# computed within a round shrug off one bad minute.
#
# Why fresh directories and no deletion until the end: the disk here is ext4 without a journal,
# where the inode allocator will not reuse an inode freed in the last minute (recently_deleted()
# in fs/ext4/ialloc.c: 60 s, 360 s while its inode table block is dirty) and, on each file
# creation in that block group, scans past every such inode. After an rm -rf of a few thousand
# files, creating files there costs a lot of kernel CPU (fsync_limit.py here: ~5,000 msgs/s in a
# fresh directory, ~1,000 right after deleting 4,000 files in the same group), so a contender
# measured after a mass deletion is slowed by whoever deleted, not by itself. Hence:
#   - each run works in a new BENCH_DIR/run.<time>/, with a new directory per measurement:
#     fsync-limit.<round>/, peerstack.<round>/ (PEERSTACK_ROOT), postern.<round>/;
#   - fsync_limit.py runs with its removal of its own files switched off;
#   - the run directory gets ext4's top-directory flag (chattr +T), so its subdirectories are
#     spread over separate block groups: the queue files Postfix deletes as it delivers stay in
#     its own groups, where they cost Postfix but not the next contender;
#   - earlier runs' directories are deleted only when this script exits, after every
#     measurement; a run starting less than SETTLE seconds after that deletion first waits
#     out the rest (the same directory names land in the same block groups).
#
# Everything is on loopback and under BENCH_DIR, which must be on a real disk (not tmpfs: the
# point is fsync). Needs root (Postfix and Dovecot as peerstack runs them), smtp-source, python3
# and, for the classic stack, Debian's postfix dovecot-imapd dovecot-lmtpd dovecot-sieve
# dovecot-managesieved (see ../shared/bench/README.md). Processes this script starts are stopped
# by their pid when it exits. Exits 1 if a round delivered a count other than N.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
NAME=receive.sh
# shellcheck source=lib.sh
. "$REPO/integration/bench/lib.sh"
BENCH_DIR=${BENCH_DIR:-/var/tmp/postern-bench}
POSTERN=${POSTERN:-$REPO/bin/postern}
TRACE=${TRACE:-true}; ROUNDS=${ROUNDS:-3}; N=${N:-2000}; SIZE=${SIZE:-4096}; SESSIONS=${SESSIONS:-10}; COUNT=${COUNT:-200}
SETTLE=${SETTLE:-65}
RUN=$BENCH_DIR/run.$(date -u +%Y%m%dT%H%M%SZ)
DELETED=$BENCH_DIR/deleted-at # touched when the last deletion of old runs ended
RESULTS=$BENCH_DIR/results.txt
POSTERN_PID=""
PEERSTACK_STARTED=0
CHECKS_FAILED=""
# Per-round figures, indexed by round: RESULT lines and msgs/s.
declare -a FSYNC SINK C_TP P_TP F_CPU S_CPU C_CPU P_CPU

cleanup() {
  stop_postern
  stop_classic
  stop_sink
  # Only now, with every measurement done (see the header): earlier runs' directories, and
  # those of the layout before run directories. This run's stays, for its logs.
  if [ "$LOCKED" = 1 ]; then
    local d deleted=0
    for d in "$BENCH_DIR"/run.* "$BENCH_DIR/postern" "$BENCH_DIR/peerstack" "$BENCH_DIR/fsync-limit"; do
      if [ -e "$d" ] && [ "$d" != "$RUN" ]; then rm -rf "$d"; deleted=1; fi
    done
    # Written back, the freed inodes' table blocks are clean: the 60 s window, not 360 s.
    if [ "$deleted" = 1 ]; then sync; touch "$DELETED"; fi
  fi
}
LOCKED=0
trap cleanup EXIT

preflight() {
  [ -x "$SHARED/smtp_throughput.sh" ] || die "shared bench scripts not found at $SHARED (set SHARED=)"
  [ "$(id -u)" = 0 ] || die "run as root: the classic stack (peerstack.sh) starts Postfix and Dovecot"
  [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not '$ROUNDS'"
  local t age spread=no
  for t in smtp-source python3 postfix dovecot doveadm; do
    command -v "$t" >/dev/null || die "missing $t: apt-get install -y postfix dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved swaks isync (preseed: postfix postfix/main_mailer_type select No configuration)"
  done
  [ -x "$POSTERN" ] || { say "building $POSTERN"; make -C "$REPO" build >&2; }
  bench_dir_on_disk
  # One run at a time: two would share ports, and the cleanup would delete the other's files.
  exec 9> "$BENCH_DIR/lock"
  flock -n 9 || die "another receive.sh is running on $BENCH_DIR"
  LOCKED=1
  if [ -e "$DELETED" ]; then
    age=$(( $(date +%s) - $(stat -c %Y "$DELETED") ))
    if [ "$age" -lt "$SETTLE" ]; then
      say "waiting $((SETTLE - age)) s: the previous run's files were deleted ${age} s ago (see the header)"
      sleep $((SETTLE - age))
    fi
  fi
  mkdir "$RUN"
  if chattr +T "$RUN" 2>/dev/null; then spread=yes; fi
  : > "$RESULTS"
  echo "# receive benchmark $(date -u +%FT%TZ) host=$(hostname) cpus=$(nproc) fs=$FS dir=$RUN spread(chattr +T)=$spread rounds=$ROUNDS" | tee -a "$RESULTS"
  echo "# postern $(postern_version); $(postconf -d mail_version 2>/dev/null); dovecot $(dovecot --version 2>/dev/null)" | tee -a "$RESULTS"
}

# fsync_limit THREADS N_PER_THREAD DIR: the shared fsync_limit.py as it is, except that its
# removal of its own files is switched off (see the header); DIR must not exist yet.
fsync_limit() {
  python3 - "$SHARED/fsync_limit.py" "$@" <<'PY'
import runpy, shutil, sys
shutil.rmtree = lambda *args, **kwargs: None
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
PY
}

start_classic() { # round
  export PEERSTACK_ROOT=$RUN/peerstack.$1
  say "classic stack: Postfix + Dovecot (peerstack.sh, root $PEERSTACK_ROOT)"
  PEERSTACK_STARTED=1
  "$SHARED/peerstack.sh" start >&2 || die "peerstack.sh start failed (logs in $PEERSTACK_ROOT/log)"
  C_MAILDIR=$PEERSTACK_ROOT/mail/example.test/alice/Maildir
}

stop_classic() {
  if [ "$PEERSTACK_STARTED" = 1 ]; then "$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true; fi
  PEERSTACK_STARTED=0
}

SINK_STARTED=0
stop_sink() {
  if [ "$SINK_STARTED" = 1 ]; then PEERSTACK_ROOT=$SINK_ROOT "$SHARED/peerstack.sh" sink-stop >/dev/null 2>&1 || true; fi
  SINK_STARTED=0
}

# sink_rate ROUND: smtp-source's load into smtp-sink on 2600, timed like the throughput runs.
sink_rate() {
  local t0 t1
  t0=$(date +%s.%N)
  timeout 600 "$RUN/bin/smtp-source" -s "$SESSIONS" -m "$N" -l "$SIZE" -f loadgen@client.test -t alice@example.test \
    -M client.test -S "smtp_throughput $SIZE" 127.0.0.1:2600 >&2
  t1=$(date +%s.%N)
  awk -v n="$N" -v size="$SIZE" -v s="$SESSIONS" -v t0="$t0" -v t1="$t1" 'BEGIN {
    printf "RESULT test=smtp_sink n=%d size=%d sessions=%d msgs_per_s=%.1f\n", n, size, s, n / (t1 - t0) }'
}

stop_postern() {
  if [ -n "$POSTERN_PID" ] && kill -0 "$POSTERN_PID" 2>/dev/null; then
    kill -TERM "$POSTERN_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$POSTERN_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  POSTERN_PID=""
}

start_postern() { # round
  PDIR=$RUN/postern.$1
  say "Postern (state in $PDIR)"
  mkdir "$PDIR"
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

[trace]
enabled = $TRACE
EOF
  "$POSTERN" serve --config "$PDIR/postern.toml" > "$PDIR/postern.log" 2>&1 &
  POSTERN_PID=$!
  for _ in $(seq 300); do
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
  timeout 600 "$RUN/bin/smtp-source" -s "$SESSIONS" -m "$N" -l "$SIZE" -f loadgen@client.test -t alice@example.test \
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

# cpu_begin PID...: the machine's busy CPU seconds and those of the given process trees, now.
cpu_begin() {
  CPU_T0=$(date +%s.%N)
  rm -f "$RUN/loadgen.cpu"
  read -r CPU_BUSY0 CPU_OURS0 <<< "$(python3 "$SHARED/cpuacct.py" "$@")"
}

# cpu_end LABEL MSGS PID...: a RESULT line with CPU per message since cpu_begin (same PIDs):
# machine (all busy CPU), server (the trees), loadgen (smtp-source's own user + system time,
# from the wrapper loadgen_wrapper installs), rest (machine - server - loadgen: kernel
# threads, the measuring scripts), and busy% of all CPUs.
cpu_end() {
  local label=$1 msgs=$2 t1 busy1 ours1 lg=0; shift 2
  t1=$(date +%s.%N)
  read -r busy1 ours1 <<< "$(python3 "$SHARED/cpuacct.py" "$@")"
  if [ -s "$RUN/loadgen.cpu" ]; then lg=$(cat "$RUN/loadgen.cpu"); fi
  LAST_CPU=$(awk -v l="$label" -v n="$msgs" -v c="$(nproc)" -v t0="$CPU_T0" -v t1="$t1" -v g="$lg" \
    -v b0="$CPU_BUSY0" -v b1="$busy1" -v o0="$CPU_OURS0" -v o1="$ours1" 'BEGIN {
    b = b1 - b0; o = o1 - o0; if (o + g > b) b = o + g
    printf "RESULT test=cpu label=%s msgs=%d wall_s=%.2f busy_pct=%.0f machine_us_per_msg=%.0f server_us_per_msg=%.0f loadgen_us_per_msg=%.0f rest_us_per_msg=%.0f\n",
      l, n, t1 - t0, 100 * b / (c * (t1 - t0)), 1e6 * b / n, 1e6 * o / n, 1e6 * g / n, 1e6 * (b - o - g) / n }')
  echo "$LAST_CPU" | tee -a "$RESULTS"
}

# loadgen_wrapper: puts an smtp-source first in $RUN/bin that runs the real one and writes its
# CPU seconds (user + system, from bash's times for its children) to $RUN/loadgen.cpu.
loadgen_wrapper() {
  local real; real=$(command -v smtp-source)
  mkdir -p "$RUN/bin"
  cat > "$RUN/bin/smtp-source" <<EOF
#!/usr/bin/env bash
"$real" "\$@"; rc=\$?
times > "$RUN/loadgen.times" # not in a pipeline: a subshell has no children of its own
awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split(\$i, a, "m"); n += a[1] * 60 + a[2] } printf "%.3f\\n", n }' "$RUN/loadgen.times" > "$RUN/loadgen.cpu"
exit \$rc
EOF
  chmod 0755 "$RUN/bin/smtp-source"
}

# check_delivered WHO ROUND: the round's delivered count must be N.
check_delivered() {
  local got; got=$(kv "$LAST" delivered)
  if [ "$got" != "$N" ]; then
    say "round $2: $1 delivered ${got:-?} of $N"
    CHECKS_FAILED="$CHECKS_FAILED $1/round$2"
  fi
}

# round R: the ceiling, then the classic stack, then Postern, each server started for the
# round and stopped after it; in the last round also latency and memory.
round() {
  local r=$1 files
  echo "# round $r of $ROUNDS" | tee -a "$RESULTS"
  say "round $r/$ROUNDS: disk durable-write ceiling"
  cpu_begin
  record fsync_limit 10 200 "$RUN/fsync-limit.$r"; FSYNC[r]=$LAST
  cpu_end ceiling 2000; F_CPU[r]=$LAST_CPU

  say "round $r/$ROUNDS: the SMTP conversation alone (smtp-sink stores nothing)"
  SINK_ROOT=$RUN/sink.$r; SINK_STARTED=1
  PEERSTACK_ROOT=$SINK_ROOT "$SHARED/peerstack.sh" sink-start >&2 || die "peerstack.sh sink-start failed"
  cpu_begin
  record sink_rate "$r"; SINK[r]=$LAST
  cpu_end sink "$N"; S_CPU[r]=$LAST_CPU
  stop_sink

  say "round $r/$ROUNDS: classic stack"
  start_classic "$r"
  # shellcheck disable=SC2046 # the pids are words
  cpu_begin $("$SHARED/peerstack.sh" pids)
  record env PATH="$RUN/bin:$PATH" N="$N" SIZE="$SIZE" SESSIONS="$SESSIONS" SMTP_PORT=2525 IMAP_PORT=1143 \
    MAILDIR="$C_MAILDIR" "$SHARED/smtp_throughput.sh"; C_TP[r]=$LAST
  # shellcheck disable=SC2046
  cpu_end classic "$N" $("$SHARED/peerstack.sh" pids); C_CPU[r]=$LAST_CPU
  check_delivered classic "$r"
  if [ "$r" = "$ROUNDS" ]; then
    record env COUNT="$COUNT" SIZE="$SIZE" SMTP_PORT=2525 MAILDIR="$C_MAILDIR" "$SHARED/smtp_latency.py"; C_LAT=$LAST
    record env LABEL=classic_after_load "$SHARED/memory.sh"; C_MEM=$LAST
  fi
  stop_classic

  say "round $r/$ROUNDS: Postern"
  start_postern "$r"
  cpu_begin "$POSTERN_PID"
  if [ -n "$P_IMAP_PORT" ]; then
    record env PATH="$RUN/bin:$PATH" N="$N" SIZE="$SIZE" SESSIONS="$SESSIONS" SMTP_PORT="$P_SMTP_PORT" IMAP_PORT="$P_IMAP_PORT" IMAP_SSL=1 \
      IMAP_PASS=alicepw MAILDIR="$P_MAILDIR" "$SHARED/smtp_throughput.sh"; P_TP[r]=$LAST
  else
    say "this postern has no IMAP listener yet: delivered count from the Maildir"
    record throughput_maildir "$P_SMTP_PORT" "$P_MAILDIR"; P_TP[r]=$LAST
  fi
  cpu_end postern "$N" "$POSTERN_PID"; P_CPU[r]=$LAST_CPU
  check_delivered postern "$r"
  if [ "$r" = "$ROUNDS" ]; then
    record env COUNT="$COUNT" SIZE="$SIZE" SMTP_PORT="$P_SMTP_PORT" MAILDIR="$P_MAILDIR" "$SHARED/smtp_latency.py"; P_LAT=$LAST
    record env LABEL=postern_after_load "$SHARED/memory.sh" "$POSTERN_PID"; P_MEM=$LAST
    P_HWM_KB=$(awk '/^VmHWM:/{print $2}' "/proc/$POSTERN_PID/status")
    echo "RESULT test=peak_rss server=postern vmhwm_mib=$((P_HWM_KB / 1024))" | tee -a "$RESULTS"
    # The index must agree with the files: every delivered message was indexed before its 250.
    files=$(MAILDIR=$P_MAILDIR "$SHARED/mailcount.py")
    echo "# postern maildir files after both runs: $files (expected $((N + COUNT)))" | tee -a "$RESULTS"
  fi
  stop_postern
}

# median FORMAT NUMBER...: the median (the mean of the middle two for an even count), printed
# with awk's printf FORMAT.
median() {
  local fmt=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v fmt="$fmt" '{ v[NR] = $1 } END {
    printf fmt, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu_median KEY ROUND-ARRAY-NAME: the median of KEY over the rounds' cpu RESULT lines.
cpu_median() {
  local -n lines=$2
  local -a v=()
  local r
  for r in $(seq "$ROUNDS"); do v+=("$(kv "${lines[r]}" "$1")"); done
  median %.0f "${v[@]}"
}

# cpu_summary: the CPU lines of the summary (called from summary, whose fs it reads).
cpu_summary() {
  printf '  %-34s %14s %14s\n' "CPU us/msg: the server" "$(cpu_median server_us_per_msg C_CPU)" "$(cpu_median server_us_per_msg P_CPU)"
  printf '  %-34s %14s %14s\n' "  the load generator (smtp-source)" "$(cpu_median loadgen_us_per_msg C_CPU)" "$(cpu_median loadgen_us_per_msg P_CPU)"
  printf '  %-34s %14s %14s\n' "  the rest (kernel threads, scripts)" "$(cpu_median rest_us_per_msg C_CPU)" "$(cpu_median rest_us_per_msg P_CPU)"
  printf '  %-34s %14s %14s\n' "machine busy %, all CPUs" "$(cpu_median busy_pct C_CPU)" "$(cpu_median busy_pct P_CPU)"
  awk -v m="$(cpu_median machine_us_per_msg F_CPU)" -v k="$(cpu_median machine_us_per_msg S_CPU)" -v c="$(nproc)" \
    -v sk="$(median %.0f "${ss[@]}")" -v f="$(median %.0f "${fs[@]}")" 'BEGIN {
    h = f / 2; budget = c * 1e6 / h; floor = m + k
    printf "  machine CPU per message, medians: the bare durable write (fsync_limit.py) %d us; the bare SMTP\n", m
    printf "  conversation (smtp-source into smtp-sink, %d msgs/s) %d us; together %d us, roughly the least any server needs.\n", sk, k, floor
    printf "  Half the fsync ceiling, %d msgs/s, leaves %d us per message on %d CPUs: ", h, budget, c
    if (floor > budget) printf "below the floor, so no server can reach it on this machine.\n"
    else printf "%d us above the floor for the server%ss own work.\n", budget - floor, "\047" }'
}

summary() {
  local r f c p fig ratio cpct ppct
  local -a fs ss cs ps ratios cpcts ppcts c_acc p_acc
  local c_del=0 p_del=0
  {
    echo
    echo "SUMMARY receive: $ROUNDS rounds of (fsync ceiling, classic, Postern), each $N x $SIZE B over $SESSIONS sessions into one Maildir; latency $COUNT x $SIZE B one at a time, last round"
    echo "  delivered msgs/s per round; the ceiling is fsync_limit.py's (10 writers), taken just before"
    printf '  %-7s %9s %9s %9s %16s %16s %16s  %s\n' round ceiling classic postern postern/classic "classic/ceiling" "postern/ceiling" "delivered classic, postern"
    for r in $(seq "$ROUNDS"); do
      f=$(kv "${FSYNC[r]}" msgs_per_s); c=$(kv "${C_TP[r]}" deliver_msgs_per_s); p=$(kv "${P_TP[r]}" deliver_msgs_per_s)
      fig=$(awk -v f="$f" -v c="$c" -v p="$p" 'BEGIN { printf "%.4f %.2f %.2f", p / c, 100 * c / f, 100 * p / f }')
      read -r ratio cpct ppct <<< "$fig"
      ss+=("$(kv "${SINK[r]}" msgs_per_s)")
      fs+=("$f"); cs+=("$c"); ps+=("$p"); ratios+=("$ratio"); cpcts+=("$cpct"); ppcts+=("$ppct")
      c_acc+=("$(kv "${C_TP[r]}" accept_msgs_per_s)"); p_acc+=("$(kv "${P_TP[r]}" accept_msgs_per_s)")
      c_del=$((c_del + $(kv "${C_TP[r]}" delivered))); p_del=$((p_del + $(kv "${P_TP[r]}" delivered)))
      awk -v r="$r" -v f="$f" -v c="$c" -v p="$p" -v x="$ratio" -v cp="$cpct" -v pp="$ppct" \
        -v d="$(kv "${C_TP[r]}" delivered)/$N, $(kv "${P_TP[r]}" delivered)/$N" \
        'BEGIN { printf "  %-7s %9.0f %9.1f %9.1f %15.2fx %15.1f%% %15.1f%%  %s\n", r, f, c, p, x, cp, pp, d }'
    done
    ratio=$(median %.4f "${ratios[@]}"); cpct=$(median %.2f "${cpcts[@]}"); ppct=$(median %.2f "${ppcts[@]}")
    f=$(median %.0f "${fs[@]}")
    awk -v f="$f" -v c="$(median %.1f "${cs[@]}")" -v p="$(median %.1f "${ps[@]}")" -v x="$ratio" -v cp="$cpct" -v pp="$ppct" \
      'BEGIN { printf "  %-7s %9.0f %9.1f %9.1f %15.2fx %15.1f%% %15.1f%%\n", "median", f, c, p, x, cp, pp }'
    echo
    printf '  %-34s %14s %14s\n' "" "Postfix+Dovecot" "Postern"
    printf '  %-34s %14s %14s\n' "accepted msgs/s, median of rounds" "$(median %.1f "${c_acc[@]}")" "$(median %.1f "${p_acc[@]}")"
    printf '  %-34s %14s %14s\n' "delivered msgs/s, median of rounds" "$(median %.1f "${cs[@]}")" "$(median %.1f "${ps[@]}")"
    printf '  %-34s %14s %14s\n' "delivered / sent, all rounds" "$c_del/$((ROUNDS * N))" "$p_del/$((ROUNDS * N))"
    printf '  %-34s %14s %14s\n' "latency p50 ms (connect->250)" "$(kv "$C_LAT" p50_ms)" "$(kv "$P_LAT" p50_ms)"
    printf '  %-34s %14s %14s\n' "latency p99 ms (connect->250)" "$(kv "$C_LAT" p99_ms)" "$(kv "$P_LAT" p99_ms)"
    printf '  %-34s %14s %14s\n' "deliver p50/p99 ms (->in Maildir)" \
      "$(kv "$C_LAT" deliver_p50_ms)/$(kv "$C_LAT" deliver_p99_ms)" "$(kv "$P_LAT" deliver_p50_ms)/$(kv "$P_LAT" deliver_p99_ms)"
    printf '  %-34s %14s %14s\n' "memory after load, PSS sum MiB" "$(kv "$C_MEM" pss_sum_mib)" "$(kv "$P_MEM" pss_sum_mib)"
    printf '  %-34s %14s %14s\n' "peak RSS MiB (VmHWM)" "-" "$((P_HWM_KB / 1024))"
    cpu_summary
    awk -v x="$ratio" -v f="$f" -v cp="$cpct" -v pp="$ppct" 'BEGIN {
      printf "  Postern / classic, delivered msgs/s: %.2fx, median of the per-round ratios (goal >= 3x)\n", x;
      printf "  fsync ceiling: median %d msgs/s; median per-round share of the ceiling: classic %.0f%%, Postern %.0f%% (goal >= 50%%)\n",
        f, cp, pp }'
    echo "  raw RESULT lines: $RESULTS; this run's files: $RUN"
  } | tee -a "$RESULTS"
}

preflight
loadgen_wrapper
for r in $(seq "$ROUNDS"); do round "$r"; done
summary
[ -z "$CHECKS_FAILED" ] || die "delivered count other than $N in:$CHECKS_FAILED"
