package passhash

import (
	"bytes"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// cryptB64 is the crypt(3) base64 alphabet.
const cryptB64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// b64From24 appends n characters of the 24-bit group (b2,b1,b0), low bits first.
func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	for ; n > 0; n-- {
		out = append(out, cryptB64[w&0x3f])
		w >>= 6
	}
	return out
}

// The byte orders of SHA-crypt's final encoding (Drepper, "Unix crypt using SHA-256 and
// SHA-512", step 22): triples of digest positions, then the left-over bytes.
var (
	sha512Order = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
		{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
		{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
)

// shaCrypt computes the SHA-crypt string for password under the salt (and rounds) of
// setting ("$6$[rounds=N$]salt[$hash]"), as the specification's steps 1-22 describe.
func shaCrypt(newHash func() hash.Hash, prefix, setting, password string) (string, error) {
	rest := strings.TrimPrefix(setting, prefix)
	rounds, explicit := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.Atoi(num)
		if !found || err != nil || n < 0 {
			return "", fmt.Errorf("%w: SHA-crypt rounds", ErrUnsupported)
		}
		rounds, explicit, rest = min(max(n, 1000), 999_999_999), true, after
		if rounds > maxSHACryptRound {
			return "", fmt.Errorf("%w: SHA-crypt rounds %d above %d", ErrUnsupported, rounds, maxSHACryptRound)
		}
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 16 {
		salt = salt[:16]
	}
	key := shaCryptDigest(newHash, []byte(password), []byte(salt), rounds)

	var out []byte
	out = append(out, prefix...)
	if explicit {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt...)
	out = append(out, '$')
	if len(key) == 64 {
		for _, t := range sha512Order {
			out = b64From24(out, key[t[0]], key[t[1]], key[t[2]], 4)
		}
		out = b64From24(out, 0, 0, key[63], 2)
	} else {
		for _, t := range sha256Order {
			out = b64From24(out, key[t[0]], key[t[1]], key[t[2]], 4)
		}
		out = b64From24(out, 0, key[31], key[30], 3)
	}
	return string(out), nil
}

// repeatTo returns n bytes of block repeated.
func repeatTo(block []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(block) <= n {
		out = append(out, block...)
	}
	return append(out, block[:n-len(out)]...)
}

func shaCryptDigest(newHash func() hash.Hash, pw, salt []byte, rounds int) []byte {
	h := newHash()
	size := h.Size()
	// B = H(P S P)
	h.Write(pw)
	h.Write(salt)
	h.Write(pw)
	b := h.Sum(nil)
	// A = H(P S B-repeated-to-len(P) then, per bit of len(P), B or P)
	h = newHash()
	h.Write(pw)
	h.Write(salt)
	h.Write(repeatTo(b, len(pw)))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)
	// P' from DP = H(P repeated len(P) times)
	h = newHash()
	h.Write(bytes.Repeat(pw, len(pw)))
	p := repeatTo(h.Sum(nil), len(pw))
	// S' from DS = H(S repeated 16+A[0] times)
	h = newHash()
	h.Write(bytes.Repeat(salt, 16+int(a[0])))
	s := repeatTo(h.Sum(nil), len(salt))

	c := a
	for i := 0; i < rounds; i++ {
		h = newHash()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0:0])
	}
	_ = size
	return c
}
