package integration

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSendmailEveryLocalUser: sendmail works for a user outside the daemon's group (nobody)
// as for root, with the daemon up and while it is down (the maildrop), the kernel-recorded
// uid goes into the Received line, a user over the per-uid rate waits instead of being
// lost, and a user can neither list, read nor remove another's waiting mail, nor make the
// daemon follow a symlink, hang on a FIFO or take a hard link.
func TestSendmailEveryLocalUser(t *testing.T) {
	t.Parallel()
	as, uid := asNobody(t)

	s := NewServer(t, Options{Extra: "[admin]\nsubmit_per_minute = 3\n"})
	rxSetup(t, s, "alice")
	// What the package and the unit give a real install: /var/lib searchable, the state
	// directory 0711 (enter, not list), the config world-readable (it holds no secrets).
	for _, d := range []string{filepath.Dir(s.Dir), s.Dir, s.StateDir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	inbox := rxUserDir(s, "alice@example.test")
	send := func(attr *syscall.SysProcAttr, subject string) CLIResult {
		t.Helper()
		r := runCLI(t, s.Config, "Subject: "+subject+"\n\nhello\n", attr, "sendmail", "alice@example.test")
		if r.Code != 0 {
			t.Fatalf("sendmail %q as uid %v: exit %d: %s", subject, attr, r.Code, r.Stderr)
		}
		return r
	}

	// Daemon up: both arrive at once, each naming its sender's uid.
	send(as, "from nobody, up")
	send(nil, "from root, up")
	for subject, id := range map[string]int{"from nobody, up": uid, "from root, up": 0} {
		data, err := os.ReadFile(smWaitFile(t, inbox, subject))
		if err != nil {
			t.Fatal(err)
		}
		if want := "from userid " + strconv.Itoa(id) + ")"; !strings.Contains(string(data), want) {
			t.Errorf("%q lacks %q:\n%s", subject, want, data)
		}
	}
	// Over the rate (3 a minute; nobody has used 1): the extra messages are kept, not lost.
	for _, subj := range []string{"rate 1", "rate 2", "rate 3"} {
		send(as, subj)
	}
	smWaitFile(t, inbox, "rate 1")
	smWaitFile(t, inbox, "rate 2")
	if n := len(rxFindSubject(t, inbox, "rate 3")); n != 0 {
		t.Errorf("the 4th message in a minute was delivered at once (%d copies)", n)
	}
	drop := filepath.Join(s.StateDir, "maildrop")
	nobodyDir := filepath.Join(drop, strconv.Itoa(uid))
	if left, _ := os.ReadDir(nobodyDir); len(left) != 1 {
		t.Errorf("the message over the rate is not waiting in nobody's maildrop directory: %v", left)
	}

	// Daemon down: both go to the maildrop, each into its sender's own directory.
	s.Stop()
	send(as, "from nobody, down")
	send(nil, "from root, down")
	fi, err := os.Stat(drop)
	if err != nil || fi.Mode()&(os.ModeSticky|os.ModeSetgid) != os.ModeSticky|os.ModeSetgid || fi.Mode().Perm() != 0o733 {
		t.Fatalf("maildrop mode %v (%v), want sticky, setgid, 0733", fi.Mode(), err)
	}
	dropGid := fi.Sys().(*syscall.Stat_t).Gid
	var rootFile string
	for owner, want := range map[int]int{uid: 2, 0: 1} {
		dir := filepath.Join(drop, strconv.Itoa(owner))
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st := di.Sys().(*syscall.Stat_t); int(st.Uid) != owner || st.Gid != dropGid || di.Mode().Perm() != 0o770 || di.Mode()&os.ModeSetgid == 0 {
			t.Errorf("%s: owner %d gid %d mode %v, want %d, the maildrop's group, setgid 0770", dir, st.Uid, st.Gid, di.Mode(), owner)
		}
		files, err := os.ReadDir(dir)
		if err != nil || len(files) != want {
			t.Fatalf("%s holds %v (%v), want %d files", dir, files, err, want)
		}
		for _, f := range files {
			info, _ := f.Info()
			st := info.Sys().(*syscall.Stat_t)
			if info.Mode().Perm() != 0o640 || st.Gid != dropGid || int(st.Uid) != owner {
				t.Errorf("%s: mode %v uid %d gid %d, want 0640, %d and the maildrop's group", f.Name(), info.Mode(), st.Uid, st.Gid, owner)
			}
			if owner == 0 {
				rootFile = filepath.Join(dir, f.Name())
			}
		}
	}
	// The attacks of a local user on others' waiting mail, and on the daemon.
	shell := func(script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.SysProcAttr = as
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	rootDir := filepath.Dir(rootFile)
	for _, attack := range []string{"ls " + drop, "ls " + rootDir, "cat " + rootFile, "rm -f " + rootFile,
		"mv " + rootFile + " " + drop + "/stolen", "echo x >> " + rootFile, "touch " + rootDir + "/planted",
		"mv " + rootDir + " " + drop + "/mine", "rmdir " + rootDir, "chmod 777 " + rootDir} {
		if out, err := shell(attack); err == nil {
			t.Errorf("nobody could %q: %s", attack, out)
		}
	}
	if _, err := os.Stat(rootFile); err != nil {
		t.Fatalf("root's waiting message is gone: %v", err)
	}
	victim := filepath.Join(s.StateDir, "victim")
	if err := os.WriteFile(victim, []byte("{\"v\":1,\"rcpts\":[\"alice@example.test\"],\"size\":3}\nabc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := shell("ln -s " + victim + " " + drop + "/link && mkfifo " + drop + "/fifo"); err != nil {
		t.Fatalf("planting a symlink and a FIFO: %v %s", err, out)
	}
	// A hard link to a file nobody owns is refused by the kernel (protected_hardlinks); one
	// root made would still be refused by the daemon for its link count.
	if err := os.Link(victim, filepath.Join(drop, "hardlink")); err != nil {
		t.Fatal(err)
	}

	s.Start()
	for _, subject := range []string{"from nobody, down", "from root, down", "rate 3"} {
		smWaitFile(t, inbox, subject)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		left, _ := os.ReadDir(drop)
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		all := strings.Join(names, " ")
		// Beside the three planted files: root's and nobody's own (now empty) directories.
		if len(left) == 5 && strings.Count(all, ".bad") == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the scan the maildrop holds %q, want link, fifo and hardlink set aside as .bad", names)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Seven messages were sent; the planted files delivered nothing.
	if n := len(rxFiles(t, inbox)); n != 7 {
		t.Errorf("alice has %d messages, want 7 (none from the planted files)", n)
	}
	s.MustCLI("status")
}

// asNobody returns the process attributes that run a command as nobody, outside every
// group, and nobody's uid. It needs root: under CI=true its absence fails the test.
func asNobody(t *testing.T) (*syscall.SysProcAttr, int) {
	t.Helper()
	needRoot(t, "running commands as another user")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}, uid
}
