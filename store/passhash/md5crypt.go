package passhash

import (
	"crypto/md5"
	"strings"
)

// md5Crypt computes the $1$ (FreeBSD MD5-crypt) string for password under setting's salt.
func md5Crypt(setting, password string) (string, error) {
	salt, _, _ := strings.Cut(strings.TrimPrefix(setting, "$1$"), "$")
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw, s := []byte(password), []byte(salt)
	alt := md5.New()
	alt.Write(pw)
	alt.Write(s)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	h := md5.New()
	h.Write(pw)
	h.Write([]byte("$1$"))
	h.Write(s)
	h.Write(repeatTo(altSum, len(pw)))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	final := h.Sum(nil)
	for i := 0; i < 1000; i++ {
		h = md5.New()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(pw)
		}
		final = h.Sum(final[:0:0])
	}
	out := []byte("$1$" + salt + "$")
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = b64From24(out, final[t[0]], final[t[1]], final[t[2]], 4)
	}
	out = b64From24(out, 0, 0, final[11], 2)
	return string(out), nil
}
