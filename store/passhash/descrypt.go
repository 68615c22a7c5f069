package passhash

import "fmt"

// Traditional crypt(3) (Seventh Edition Unix, what Dovecot's CRYPT scheme means for a
// 13-character hash): the first eight bytes of the password, each shifted left one bit,
// are a DES key; a zero block is encrypted 25 times with a DES whose expansion E is
// perturbed by the 12-bit salt (salt bit k swaps E's outputs k and k+24); the 64-bit result
// and two zero bits are written as 11 characters of the crypt alphabet after the salt.
// Implemented here from FIPS 46-3 (crypto/des cannot perturb E). The tables are 1-based
// bit numbers, most significant bit first, as the standard prints them.

var (
	desIP = [64]byte{58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
		62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
		57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
		61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7}
	desFP = [64]byte{40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
		38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
		36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
		34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25}
	desE = [48]byte{32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
		16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1}
	desP = [32]byte{16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
		2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25}
	desPC1 = [56]byte{57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
		10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
		63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
		14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4}
	desPC2 = [48]byte{14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
		41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32}
	desShifts = [16]byte{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}
	desS      = [8][64]byte{
		{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
			4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
		{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
			0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
		{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
			13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
		{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
			10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
		{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
			4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
		{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
			9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
		{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
			1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
		{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
			7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
	}
)

// cryptAlphabet is the crypt(3) alphabet: "./0-9A-Za-z", value = position.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// desCrypt computes the traditional crypt(3) string of password under setting's two salt
// characters. A salt outside the crypt alphabet is an error (libxcrypt refuses it too).
func desCrypt(setting, password string) (string, error) {
	if len(setting) < 2 {
		return "", fmt.Errorf("%w: DES crypt needs a two-character salt", ErrUnsupported)
	}
	var salt uint32
	for i := 0; i < 2; i++ {
		v := cryptValue(setting[i])
		if v < 0 {
			return "", fmt.Errorf("%w: DES crypt salt %q is not in the crypt alphabet", ErrUnsupported, setting[:2])
		}
		salt |= uint32(v) << (6 * i)
	}
	var key uint64
	for i := 0; i < 8; i++ {
		key <<= 8
		if i < len(password) {
			key |= uint64(password[i]<<1) & 0xff
		}
	}
	e := desE
	for k := 0; k < 12; k++ {
		if salt&(1<<k) != 0 {
			e[k], e[k+24] = e[k+24], e[k]
		}
	}
	subkeys := desSubkeys(key)
	var block uint64
	for i := 0; i < 25; i++ {
		block = desEncrypt(block, &subkeys, &e)
	}
	out := []byte(setting[:2])
	for i := 0; i < 11; i++ {
		// 66 bits: the block and two zero bits, six at a time from the top.
		shift := 58 - 6*i
		var v uint64
		if shift >= 0 {
			v = block >> shift
		} else {
			v = block << -shift
		}
		out = append(out, cryptAlphabet[v&0x3f])
	}
	return string(out), nil
}

func cryptValue(c byte) int {
	for i := 0; i < len(cryptAlphabet); i++ {
		if cryptAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// permute returns the bits of in (width bits wide) that table names, 1-based from the top,
// as a len(table)-bit number.
func permute(in uint64, width int, table []byte) uint64 {
	var out uint64
	for _, b := range table {
		out = out<<1 | (in>>(width-int(b)))&1
	}
	return out
}

// desSubkeys is DES's key schedule: sixteen 48-bit round keys from a 64-bit key.
func desSubkeys(key uint64) [16]uint64 {
	cd := permute(key, 64, desPC1[:])
	c, d := uint32(cd>>28)&0x0fffffff, uint32(cd)&0x0fffffff
	rot := func(x uint32, n byte) uint32 { return (x<<n | x>>(28-n)) & 0x0fffffff }
	var ks [16]uint64
	for i, n := range desShifts {
		c, d = rot(c, n), rot(d, n)
		ks[i] = permute(uint64(c)<<28|uint64(d), 56, desPC2[:])
	}
	return ks
}

// desEncrypt enciphers one block with the round keys and the (possibly salted) expansion e.
func desEncrypt(block uint64, ks *[16]uint64, e *[48]byte) uint64 {
	lr := permute(block, 64, desIP[:])
	l, r := uint32(lr>>32), uint32(lr)
	for i := 0; i < 16; i++ {
		l, r = r, l^desF(r, ks[i], e)
	}
	return permute(uint64(r)<<32|uint64(l), 64, desFP[:])
}

// desF is the round function: expand, mix in the round key, S-boxes, P.
func desF(r uint32, k uint64, e *[48]byte) uint32 {
	x := permute(uint64(r), 32, e[:]) ^ k
	var s uint32
	for i := 0; i < 8; i++ {
		six := byte(x>>(42-6*i)) & 0x3f
		row, col := (six>>4)&2|six&1, (six>>1)&0xf
		s = s<<4 | uint32(desS[i][row*16+col])
	}
	return uint32(permute(uint64(s), 32, desP[:]))
}
