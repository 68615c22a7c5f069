package admin

import (
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func writeProcStatus(t *testing.T, dir string, pid int, body string) {
	t.Helper()
	p := filepath.Join(dir, strconv.Itoa(pid))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "status"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAccessAuthorize(t *testing.T) {
	t.Parallel()
	proc := t.TempDir()
	writeProcStatus(t, proc, 100, "Name:\tbash\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\nGroups:\t27 998 1001 \n")
	writeProcStatus(t, proc, 101, "Name:\tbash\nUid:\t1002\t1002\t1002\t1002\nGroups:\t27 1002\n")
	// pid 102 was reused by a member of the group, but not by the peer's uid.
	writeProcStatus(t, proc, 102, "Uid:\t1001\t1001\t1001\t1001\nGroups:\t998\n")

	a := Access{OwnUID: 500, Group: "postern", GID: 998, HasGroup: true, ProcDir: proc}
	tests := []struct {
		name  string
		cred  PeerCred
		allow bool
	}{
		{"root", PeerCred{PID: 1, UID: 0, GID: 0}, true},
		{"daemon user", PeerCred{PID: 2, UID: 500, GID: 500}, true},
		{"primary group", PeerCred{PID: 3, UID: 1003, GID: 998}, true},
		{"supplementary group", PeerCred{PID: 100, UID: 1001, GID: 1001}, true},
		{"not a member", PeerCred{PID: 101, UID: 1002, GID: 1002}, false},
		{"pid reused by someone else", PeerCred{PID: 102, UID: 1005, GID: 1005}, false},
		{"no proc entry", PeerCred{PID: 999, UID: 1001, GID: 1001}, false},
	}
	for _, tt := range tests {
		err := a.Authorize(tt.cred)
		if (err == nil) != tt.allow {
			t.Errorf("%s: err = %v, want allow=%t", tt.name, err, tt.allow)
		}
		if err != nil && (ErrorCode(err) != CodePermissionDenied || !strings.Contains(ErrorHint(err), "postern")) {
			t.Errorf("%s: refusal %v has code %s hint %q", tt.name, err, ErrorCode(err), ErrorHint(err))
		}
	}

	noGroup := Access{OwnUID: 500, ProcDir: proc}
	if err := noGroup.Authorize(PeerCred{PID: 100, UID: 1001, GID: 998}); err == nil {
		t.Errorf("without a group, a non-root foreign uid was admitted")
	}
}

func TestParseProcStatus(t *testing.T) {
	t.Parallel()
	uids, groups := parseProcStatus([]byte("Name:\tx\nUid:\t1\t2\t3\t4\nGroups:\t\nGroups:\t5 x 6\nbroken line\n"))
	if !reflect.DeepEqual(uids, []uint32{1, 2, 3, 4}) || !reflect.DeepEqual(groups, []uint32{5, 6}) {
		t.Errorf("uids %v groups %v", uids, groups)
	}
}

func TestResolveAccess(t *testing.T) {
	t.Parallel()
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skipf("no name for our gid: %v", err)
	}
	a := ResolveAccess(g.Name, nil)
	if !a.HasGroup || strconv.Itoa(int(a.GID)) != g.Gid || a.OwnUID != uint32(os.Getuid()) {
		t.Errorf("ResolveAccess(%q) = %+v", g.Name, a)
	}
	logs := &syncBuffer{}
	missing := ResolveAccess("no-such-group-postern-test", testLogger(logs))
	if missing.HasGroup {
		t.Errorf("missing group resolved: %+v", missing)
	}
	if !strings.Contains(logs.String(), "admin group not found") {
		t.Errorf("no warning for a missing group: %q", logs)
	}
}
