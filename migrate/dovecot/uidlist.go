package dovecot

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// UIDListFile is the name of Dovecot's per-folder UID map.
const UIDListFile = "dovecot-uidlist"

// UIDList is a parsed dovecot-uidlist.
type UIDList struct {
	Version     int    // 1 (Courier-compatible), 2 or 3 (Dovecot 1.1 and later)
	UIDValidity uint32 // the folder's IMAP UIDVALIDITY
	NextUID     uint32 // the header's next UID; see UIDNext
	GUID        string // the folder's GUID (version 3), "" if absent
	UIDs        map[string]uint32
	maxUID      uint32
}

// UIDNext is the UID the next message would get: the header's value, or one past the
// largest UID listed when records were appended after the header was written (Dovecot
// appends records without rewriting the header).
func (u *UIDList) UIDNext() uint32 {
	if u.maxUID >= u.NextUID && u.maxUID < 0xFFFFFFFF {
		return u.maxUID + 1
	}
	return u.NextUID
}

// maxUIDListLine bounds one line; file names are at most 255 bytes.
const maxUIDListLine = 4096

// ParseUIDList parses a dovecot-uidlist of any version:
//
//	version 1: "1 UIDVALIDITY NEXTUID" then "UID FILENAME" lines;
//	version 2, 3: "3 V<uidvalidity> N<nextuid> G<guid> ..." (fields in any order, unknown
//	ones ignored) then "UID [<ext fields>] :FILENAME" lines, or "UID FILENAME".
//
// FILENAME is the message's base name; a ":2,..." info is dropped if present. Records
// whose UID is 0 or repeats, or whose name repeats, make the file an error: guessing
// would give a message another message's UID.
func ParseUIDList(data []byte) (*UIDList, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 512), maxUIDListLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("uidlist: %w", err)
		}
		return nil, fmt.Errorf("uidlist: empty file")
	}
	u, err := parseUIDListHeader(sc.Text())
	if err != nil {
		return nil, err
	}
	seenUID := map[uint32]bool{}
	for n := 2; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		uid, name, err := parseUIDListRecord(line)
		if err != nil {
			return nil, fmt.Errorf("uidlist line %d: %w", n, err)
		}
		if seenUID[uid] {
			return nil, fmt.Errorf("uidlist line %d: UID %d listed twice", n, uid)
		}
		if _, dup := u.UIDs[name]; dup {
			return nil, fmt.Errorf("uidlist line %d: file %s listed twice", n, name)
		}
		seenUID[uid] = true
		u.UIDs[name] = uid
		u.maxUID = max(u.maxUID, uid)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("uidlist: %w", err)
	}
	return u, nil
}

func parseUIDListHeader(line string) (*UIDList, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, fmt.Errorf("uidlist: empty header")
	}
	v, err := strconv.Atoi(f[0])
	if err != nil || v < 1 || v > 3 {
		return nil, fmt.Errorf("uidlist: unknown version %q", f[0])
	}
	u := &UIDList{Version: v, UIDs: map[string]uint32{}}
	if v == 1 || (len(f) >= 3 && isDigits(f[1])) {
		if len(f) < 3 {
			return nil, fmt.Errorf("uidlist: version %d header needs UIDVALIDITY and next UID", v)
		}
		if u.UIDValidity, err = parseUID(f[1]); err != nil {
			return nil, fmt.Errorf("uidlist: UIDVALIDITY: %w", err)
		}
		if u.NextUID, err = parseUID(f[2]); err != nil {
			return nil, fmt.Errorf("uidlist: next UID: %w", err)
		}
		return u, nil
	}
	for _, kv := range f[1:] {
		val := kv[1:]
		switch kv[0] {
		case 'V':
			u.UIDValidity, err = parseUID(val)
		case 'N':
			u.NextUID, err = parseUID(val)
		case 'G':
			u.GUID = val
		}
		if err != nil {
			return nil, fmt.Errorf("uidlist: header field %q: %w", kv, err)
		}
	}
	if u.UIDValidity == 0 || u.NextUID == 0 {
		return nil, fmt.Errorf("uidlist: header lacks V or N")
	}
	return u, nil
}

func parseUIDListRecord(line string) (uint32, string, error) {
	num, rest, ok := strings.Cut(line, " ")
	if !ok {
		return 0, "", fmt.Errorf("no file name")
	}
	uid, err := parseUID(num)
	if err != nil {
		return 0, "", err
	}
	name := rest
	if i := strings.Index(rest, ":"); i >= 0 && (i == 0 || rest[i-1] == ' ') {
		name = rest[i+1:]
	} else if f := strings.Fields(rest); len(f) == 1 {
		name = f[0]
	} else {
		return 0, "", fmt.Errorf("extension fields without ':' before the file name")
	}
	if base, _, found := strings.Cut(name, ":2,"); found {
		name = base
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name[0] == '.' || len(name) > 255 {
		return 0, "", fmt.Errorf("bad file name %q", name)
	}
	return uid, name, nil
}

func parseUID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a number from 1 to 4294967295", s)
	}
	return uint32(n), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
