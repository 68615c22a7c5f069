package spamlearn

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A spooled request is one file, named
// <unix nanoseconds, 20 digits>.<sequence>.<spam|ham>.<hex of the user>,
// so names sort by age and say everything the worker needs.

type spoolReq struct {
	at   time.Time
	kind string
	user string
}

func spoolName(now time.Time, seq uint64, kind, user string) string {
	return fmt.Sprintf("%020d.%d.%s.%s", now.UnixNano(), seq, kind, hex.EncodeToString([]byte(user)))
}

func parseSpoolName(name string) (spoolReq, bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 4 || (parts[2] != "spam" && parts[2] != "ham") {
		return spoolReq{}, false
	}
	ns, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return spoolReq{}, false
	}
	u, err := hex.DecodeString(parts[3])
	if err != nil {
		return spoolReq{}, false
	}
	return spoolReq{at: time.Unix(0, ns), kind: parts[2], user: string(u)}, true
}

// linkOrCopy puts src's bytes at dst: a hard link, or an fsynced copy
// when the two are on different file systems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// A dot name: the worker skips it until the rename.
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
