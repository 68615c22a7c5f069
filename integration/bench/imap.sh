#!/usr/bin/env bash
# usage: [BENCH_DIR=/var/tmp/postern-bench-imap] [SHARED=<repo>/../shared/bench] [POSTERN=bin/postern]
#        [M=10000] [BIG=100000] [IDLERS=200] [REPEAT=5] [CLIENTS=10] [SECS=20]  integration/bench/imap.sh
#
# Reading mail, side by side in one run on this machine (issue 4's benchmark; not a test):
#   1. the classic stack (shared peerstack.sh: Postfix -> LMTP -> Dovecot, IMAPS on 1993) and
#      Postern (bin/postern, a temporary config, state under BENCH_DIR) are started,
#   2. alice's INBOX on each is filled with the same M messages over SMTP (shared imap_fill.py),
#   3. the shared imap_bench.py runs against Dovecot and against Postern, both over IMAPS,
#   4. Postern alone: SELECT on a BIG-message folder (first SELECT, which indexes the
#      dropped files; then warm), a restart, the server's VmRSS before and after IDLERS
#      idle IDLE sessions, and then the first SELECT of the big folder after the restart,
# then one table with each row's ratio (Postern relative to Dovecot; > 1 means faster).
#
# Needs root (peerstack runs Postfix and Dovecot), python3 and Debian's postfix
# dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved (see ../shared/bench/README.md).
# Processes this script starts are stopped by their pid when it exits.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
NAME=imap.sh
# shellcheck source=lib.sh
. "$REPO/integration/bench/lib.sh"
BENCH_DIR=${BENCH_DIR:-/var/tmp/postern-bench-imap}
POSTERN=${POSTERN:-$REPO/bin/postern}
M=${M:-10000}; BIG=${BIG:-100000}; IDLERS=${IDLERS:-200}
export REPEAT=${REPEAT:-5} CLIENTS=${CLIENTS:-10} SECS=${SECS:-20}
export PEERSTACK_ROOT=$BENCH_DIR/peerstack
RESULTS=$BENCH_DIR/results.txt
POSTERN_PID=""
PEERSTACK_STARTED=0
USER_ADDR=alice@example.test
USER_PASS=alicepw # peerstack's password for alice; Postern's alice gets the same


stop_postern() {
  if [ -n "$POSTERN_PID" ] && kill -0 "$POSTERN_PID" 2>/dev/null; then
    kill -TERM "$POSTERN_PID" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$POSTERN_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  POSTERN_PID=""
}
cleanup() {
  stop_postern
  if [ "$PEERSTACK_STARTED" = 1 ]; then "$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

preflight() {
  [ -x "$SHARED/imap_bench.py" ] || die "shared bench scripts not found at $SHARED (set SHARED=)"
  [ "$(id -u)" = 0 ] || die "run as root: the classic stack (peerstack.sh) starts Postfix and Dovecot"
  local t
  for t in python3 postfix dovecot; do
    command -v "$t" >/dev/null || die "missing $t: apt-get install -y postfix dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved"
  done
  [ -x "$POSTERN" ] || { say "building $POSTERN"; make -C "$REPO" build >&2; }
  mkdir -p "$BENCH_DIR"; chmod 0755 "$BENCH_DIR"
  : > "$RESULTS"
  echo "# imap benchmark $(date -u +%FT%TZ) host=$(hostname) cpus=$(nproc) M=$M BIG=$BIG IDLERS=$IDLERS REPEAT=$REPEAT CLIENTS=$CLIENTS SECS=$SECS" | tee -a "$RESULTS"
  echo "# postern $(postern_version); dovecot $(dovecot --version 2>/dev/null)" | tee -a "$RESULTS"
}

run_postern() {
  "$POSTERN" serve --config "$PDIR/postern.toml" >> "$PDIR/postern.log" 2>&1 &
  POSTERN_PID=$!
  local i
  for i in $(seq 300); do
    pcli status --json >/dev/null 2>&1 && break
    kill -0 "$POSTERN_PID" 2>/dev/null || { tail -20 "$PDIR/postern.log" >&2; die "postern serve exited"; }
    sleep 0.1
  done
  pcli status --json >/dev/null || die "postern did not answer on its admin socket within 30s"
}

start_postern() {
  PDIR=$BENCH_DIR/postern
  rm -rf "$PDIR"; mkdir -p "$PDIR"
  # Fixed ports, so a restart keeps them (the SELECT-after-restart measurement).
  cat > "$PDIR/postern.toml" <<EOF
hostname    = "mail.example.test"
state_dir   = "state"
runtime_dir = "run"

[listen]
smtp        = "127.0.0.1:${P_SMTP_PORT:-3525}"
submission  = ""
submissions = ""
imap        = ""
imaps       = "127.0.0.1:${P_IMAPS_PORT:-3993}"
managesieve = ""
lmtp        = ""

[smtp]
reject_unknown_sender_domain = false

# As the reference stack's mail_max_userip_connections: IDLERS sessions of one user.
[limits.imap]
max_connections_per_trusted_network = 1000
max_connections_per_user_trusted_network = 1000

[tls]
self_signed = true

[admin]
group = ""
EOF
  run_postern
  pcli domain add example.test >/dev/null
  echo "$USER_PASS" | pcli user add "$USER_ADDR" --password-stdin >/dev/null
  P_SMTP_PORT=$(listener smtp); P_SMTP_PORT=${P_SMTP_PORT##*:}
  P_IMAPS_PORT=$(listener imaps); P_IMAPS_PORT=${P_IMAPS_PORT##*:}
  P_MAILDIR=$PDIR/state/mail/example.test/alice
  echo "# postern pid=$POSTERN_PID smtp=$P_SMTP_PORT imaps=$P_IMAPS_PORT state=$PDIR/state" | tee -a "$RESULTS"
}

fill_both() {
  say "classic stack: peerstack.sh start, fill alice with $M messages"
  "$SHARED/peerstack.sh" wipe >/dev/null 2>&1 || true
  PEERSTACK_STARTED=1
  "$SHARED/peerstack.sh" start >&2 || die "peerstack.sh start failed (logs in $PEERSTACK_ROOT/log)"
  record env M="$M" RCPT="$USER_ADDR" SMTP_PORT=2525 IMAP_PASS="$USER_PASS" \
    MAILDIR="$PEERSTACK_ROOT/mail/example.test/alice/Maildir" "$SHARED/imap_fill.py"
  say "Postern: start, fill alice with $M messages"
  start_postern
  mkdir -p "$P_MAILDIR"
  record env M="$M" RCPT="$USER_ADDR" SMTP_PORT="$P_SMTP_PORT" IMAP_PASS="$USER_PASS" \
    MAILDIR="$P_MAILDIR" "$SHARED/imap_fill.py"
}

bench_both() {
  say "imap_bench.py against Dovecot (IMAPS 1993)"
  record env IMAP_SSL=1 IMAP_PORT=1993 IMAP_USER="$USER_ADDR" IMAP_PASS="$USER_PASS" "$SHARED/imap_bench.py"; C_B=$LAST
  say "imap_bench.py against Postern (IMAPS $P_IMAPS_PORT)"
  record env IMAP_SSL=1 IMAP_PORT="$P_IMAPS_PORT" IMAP_USER="$USER_ADDR" IMAP_PASS="$USER_PASS" "$SHARED/imap_bench.py"; P_B=$LAST
  say "memory of the classic stack with its IMAP sessions closed"
  record env LABEL=classic_after_imap "$SHARED/memory.sh"; C_MEM=$LAST
}

# select_time.py BOX N: connect, LOGIN, then N timed SELECTs of BOX; prints RESULT.
write_helpers() {
  cat > "$BENCH_DIR/select_time.py" <<'EOF'
import imaplib, os, ssl, statistics, sys, time
box, n = sys.argv[1], int(sys.argv[2])
c = ssl.create_default_context(); c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAP_PORT"]), ssl_context=c, timeout=600)
m.login(os.environ["IMAP_USER"], os.environ["IMAP_PASS"])
ts, exists = [], 0
for _ in range(n):
    t0 = time.monotonic()
    typ, data = m.select(box, readonly=True)
    ts.append((time.monotonic() - t0) * 1000)
    if typ != "OK":
        raise SystemExit("SELECT failed: %r" % data)
    exists = int(data[0])
    m.unselect()
m.logout()
print("RESULT test=select box=%s label=%s messages=%d first_ms=%.1f median_ms=%.1f" % (box, os.environ.get("LABEL", ""), exists, ts[0], statistics.median(ts)))
EOF
  cat > "$BENCH_DIR/drop_files.py" <<'EOF'
# Writes N small messages straight into a Maildir++ folder's cur/, as another program would.
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
now = int(time.time()) - 3600
for i in range(n):
    body = ("From: big%d@client.test\r\nTo: alice@example.test\r\nSubject: big folder message %d\r\n"
            "Date: Mon, 2 Jan 2023 10:00:00 +0000\r\nMessage-ID: <big%d@client.test>\r\n\r\nbody %d\r\n" % (i % 97, i, i, i)).encode()
    name = "%d.M%dP1.bench,S=%d:2,S" % (now, i, len(body))
    with open(os.path.join(root, "cur", name), "wb") as f:
        f.write(body)
EOF
  cat > "$BENCH_DIR/idlers.py" <<'EOF'
# Opens N IMAPS sessions that LOGIN, SELECT INBOX and IDLE; prints READY, then waits for
# a line on stdin and ends them.
import os, ssl, sys, imaplib, threading
n = int(sys.argv[1])
c = ssl.create_default_context(); c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
conns, errs = [], []
def one():
    try:
        m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAP_PORT"]), ssl_context=c, timeout=120)
        m.login(os.environ["IMAP_USER"], os.environ["IMAP_PASS"])
        m.select("INBOX")
        m.send(m._new_tag() + b" IDLE\r\n")
        if not m.readline().startswith(b"+"):
            raise RuntimeError("IDLE refused")
        conns.append(m)
    except Exception as e:
        errs.append(repr(e))
for batch in range(0, n, 20):
    ts = [threading.Thread(target=one) for _ in range(min(20, n - batch))]
    [t.start() for t in ts]; [t.join() for t in ts]
print("READY idling=%d errors=%d %s" % (len(conns), len(errs), errs[:1]), flush=True)
sys.stdin.readline()
for m in conns:
    try:
        m.send(b"DONE\r\n"); m.shutdown()
    except Exception:
        pass
EOF
}

vmrss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$POSTERN_PID/status"; }

postern_only() {
  local env_=(IMAP_PORT="$P_IMAPS_PORT" IMAP_USER="$USER_ADDR" IMAP_PASS="$USER_PASS")
  say "Postern: $BIG messages dropped into folder Big, then SELECT"
  python3 "$BENCH_DIR/drop_files.py" "$P_MAILDIR/.Big" "$BIG"
  record env "${env_[@]}" LABEL=first_index python3 "$BENCH_DIR/select_time.py" Big 1; S_FIRST=$LAST
  record env "${env_[@]}" LABEL=warm python3 "$BENCH_DIR/select_time.py" Big 5; S_WARM=$LAST
  say "Postern: restart"
  stop_postern
  run_postern

  # Measured in the fresh process, before any SELECT of the big folder inflates the heap.
  say "Postern: VmRSS around $IDLERS idle IDLE sessions"
  local before after line
  before=$(vmrss_kib)
  coproc IDLERS_PROC { env "${env_[@]}" python3 "$BENCH_DIR/idlers.py" "$IDLERS"; }
  read -r line <&"${IDLERS_PROC[0]}"
  after=$(vmrss_kib)
  echo "done" >&"${IDLERS_PROC[1]}"
  wait "$IDLERS_PROC_PID" 2>/dev/null || true
  echo "RESULT test=idle_rss sessions=$IDLERS before_kib=$before after_kib=$after per_session_kib=$(( (after - before) / IDLERS )) client=[$line]" | tee -a "$RESULTS"
  IDLE=$(tail -1 "$RESULTS")
  # The idlers selected INBOX only: Big is still unseen by this process.
  say "Postern: first SELECT Big after the restart"
  record env "${env_[@]}" LABEL=after_restart python3 "$BENCH_DIR/select_time.py" Big 5; S_RESTART=$LAST
}

summary() {
  {
    echo
    echo "SUMMARY imap: $M messages in alice's INBOX on each, IMAPS, python imaplib (imap_bench.py REPEAT=$REPEAT, CLIENTS=$CLIENTS x ${SECS}s)"
    printf '  %-32s %12s %12s %10s\n' "" "Dovecot" "Postern" "ratio"
    row() { # label key unit better(lower|higher)
      local c p; c=$(kv "$C_B" "$2"); p=$(kv "$P_B" "$2")
      awk -v l="$1" -v c="$c" -v p="$p" -v u="$3" -v b="$4" 'BEGIN {
        r = (b == "lower") ? c / p : p / c;
        printf "  %-32s %9.1f %-2s %9.1f %-2s %9.2fx\n", l, c, u, p, u, r }'
    }
    row "LOGIN+SELECT" login_select_ms ms lower
    row "FETCH 1:* envelopes" fetch_all_ms ms lower
    row "FETCH 1:* envelopes, first run" fetch_all_first_ms ms lower
    row "UID SEARCH header" search_ms ms lower
    row "100 body fetches" bodies100_ms ms lower
    row "STORE 1,000" store1000_ms ms lower
    row "10 concurrent clients" conc_ops_per_s "/s" higher
    row "  op p99 under load" conc_op_p99_ms ms lower
    echo "  (ratio = how many times faster Postern is; goal >= 1.00x on every row)"
    echo "  SELECT on $BIG messages: first (indexes the dropped files) $(kv "$S_FIRST" first_ms) ms; warm median $(kv "$S_WARM" median_ms) ms; after restart first $(kv "$S_RESTART" first_ms) ms, median $(kv "$S_RESTART" median_ms) ms (goal < 100 ms)"
    echo "  $IDLERS idle IDLE sessions: Postern VmRSS $(( $(kv "$IDLE" before_kib) / 1024 )) MiB -> $(( $(kv "$IDLE" after_kib) / 1024 )) MiB, $(kv "$IDLE" per_session_kib) KiB per session"
    echo "  classic stack memory after the IMAP run (PSS sum): $(kv "$C_MEM" pss_sum_mib) MiB"
    echo "  raw RESULT lines: $RESULTS"
  } | tee -a "$RESULTS"
}

preflight
write_helpers
fill_both
bench_both
"$SHARED/peerstack.sh" stop >/dev/null 2>&1 || true; PEERSTACK_STARTED=0
postern_only
summary
