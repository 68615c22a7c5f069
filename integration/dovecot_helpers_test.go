package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dovecotPeer is a real Dovecot (Debian's) on loopback with its own config dir, holding
// Maildirs under Root/mail/DOMAIN/USER (mail_location = maildir:~/Maildir), Pigeonhole
// scripts in ~/sieve with ~/.dovecot.sieve active, users in a passwd-file.
type dovecotPeer struct {
	Root                    string
	Conf                    string
	Users                   string
	IMAP, LMTP, ManageSieve int
	base                    string
}

// needDovecot checks for Dovecot and root (Dovecot drops to the mail user itself).
func needDovecot(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"dovecot", "doveadm", "python3"} {
		needTool(t, tool)
	}
	needRoot(t, "the Dovecot peer")
	if _, err := user.Lookup("dovenull"); err != nil {
		t.Fatalf("Dovecot is installed but its dovenull user is missing: %v", err)
	}
}

// startDovecot writes a config for users (address -> passwd-file hash field) and starts
// Dovecot; it is stopped when the test ends (or earlier with stop).
func startDovecot(t *testing.T, users map[string]string) *dovecotPeer {
	t.Helper()
	root := t.TempDir()
	// Dovecot reads and writes the Maildirs as nobody: it must be able to walk there.
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	base, err := os.MkdirTemp("", "dv") // unix socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	d := &dovecotPeer{Root: root, Conf: filepath.Join(root, "dovecot.conf"), Users: filepath.Join(root, "users"), base: base,
		IMAP: reservePort(t), LMTP: reservePort(t), ManageSieve: reservePort(t)}
	mail := filepath.Join(root, "mail")
	for _, dir := range []string{mail, filepath.Join(root, "lib"), filepath.Join(root, "log")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("chown", "nobody:nogroup", mail).Run(); err != nil {
		t.Fatal(err)
	}
	var pw strings.Builder
	for addr, hash := range users {
		fmt.Fprintf(&pw, "%s:%s::::::userdb_quota_rule=*:storage=1G\n", addr, hash)
	}
	if err := os.WriteFile(d.Users, []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(dovecotConf, base, root, root, root, root, root, d.IMAP, d.LMTP, d.ManageSieve)
	if err := os.WriteFile(d.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "conf.d", "15-mailboxes.conf"), []byte(dovecotMailboxesConf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(t); os.RemoveAll(base) })
	d.start(t)
	return d
}

// start runs the Dovecot master (again, after stop) and waits for its IMAP port.
func (d *dovecotPeer) start(t *testing.T) {
	t.Helper()
	// Not CombinedOutput: the daemonised master keeps the pipe open.
	if err := exec.Command("dovecot", "-c", d.Conf).Run(); err != nil {
		t.Fatalf("dovecot: %v (see %s/log/dovecot.log)", err, d.Root)
	}
	waitPort(t, d.IMAP)
}

func (d *dovecotPeer) stop(t *testing.T) {
	pidFile := filepath.Join(d.base, "master.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return
	}
	exec.Command("dovecot", "-c", d.Conf, "stop").Run()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(pidFile); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("dovecot did not stop")
}

// home is a user's Dovecot home directory.
func (d *dovecotPeer) home(addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return filepath.Join(d.Root, "mail", domain, local)
}

// waitPort polls until something listens on 127.0.0.1:port.
func waitPort(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

// doveadmHash returns Dovecot's own hash of password in scheme.
func doveadmHash(t *testing.T, scheme, password string) string {
	t.Helper()
	out, err := exec.Command("doveadm", "pw", "-s", scheme, "-p", password).Output()
	if err != nil {
		t.Fatalf("doveadm pw -s %s: %v", scheme, err)
	}
	return strings.TrimSpace(string(out))
}

const dovecotConf = `base_dir = %s
state_dir = %s/lib
protocols = imap lmtp sieve
listen = 127.0.0.1
log_path = %s/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 65534
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
}
passdb {
  driver = passwd-file
  args = username_format=%%Lu %s/users
}
userdb {
  driver = passwd-file
  args = username_format=%%Lu %s/users
  default_fields = uid=nobody gid=nogroup home=%s/mail/%%Ld/%%Ln
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %d
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %d
  }
}
service managesieve-login {
  inet_listener sieve {
    address = 127.0.0.1
    port = %d
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@example.test
}
lda_mailbox_autocreate = yes
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
!include conf.d/*.conf
!include_try local.conf
`

// dovecotMailboxesConf is the special-use part, where Debian keeps it: Archive gets no
// attribute (the name alone would say \Archive), Été does, Spam does not exist.
const dovecotMailboxesConf = `namespace inbox {
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
  mailbox "Été" {
    special_use = \Archive  # a folder of the user's
  }
  mailbox Spam {
    special_use = \Junk
  }
}
`
