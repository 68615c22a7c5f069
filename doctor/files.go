package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// SecretModesCheck reports secret files (the relay password, TLS and DKIM keys, the
// SRS key) that others than their owner and group may read, or that are missing.
func SecretModesCheck(files []string) Check {
	return Check{Name: "secret-files", Run: func(context.Context) []Finding {
		var out []Finding
		for _, f := range files {
			fi, err := os.Stat(f)
			if errors.Is(err, fs.ErrNotExist) {
				continue // not made yet (a DKIM key before keygen); other checks say so
			}
			if err != nil {
				out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("%s cannot be checked: %v.", f, err)})
				continue
			}
			if m := fi.Mode().Perm(); m&0o007 != 0 {
				out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("%s is readable by every user (mode %04o).", f, m),
					Fix: fmt.Sprintf("chmod 600 %s", f)})
			}
		}
		if len(out) == 0 {
			return ok(fmt.Sprintf("The %d secret files are private.", len(files)))
		}
		return out
	}}
}

// DiskCheck reports a nearly full file system under dir: below minFreePercent free (or
// below 1 GiB), delivery soon fails with 452 and the queue cannot grow.
func DiskCheck(dir string, minFreePercent int, statfs func(dir string) (free, total uint64, err error)) Check {
	return Check{Name: "disk", Run: func(context.Context) []Finding {
		free, total, err := statfs(dir)
		if err != nil || total == 0 {
			return []Finding{{Severity: Warning, Message: fmt.Sprintf("The free space of %s cannot be read: %v.", dir, err)}}
		}
		pct := int(free * 100 / total)
		msg := fmt.Sprintf("%s has %s free (%d%%).", dir, gib(free), pct)
		if pct < minFreePercent || free < 1<<30 {
			return []Finding{{Severity: Problem, Message: "The disk is nearly full: " + msg,
				Fix: "Free space (old mail: postern mailbox expunge, [mailbox] autoexpunge_*; logs; backups) or grow the disk; a full disk refuses all mail."}}
		}
		return ok(msg)
	}}
}

func gib(n uint64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
