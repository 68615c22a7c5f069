package passhash

import (
	"crypto/des"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestDESCryptVectors: hashes written by glibc's crypt(3) (Debian 12, Python's crypt module).
func TestDESCryptVectors(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ hash, password string }{
		{"aaqPiZY5xR5l.", "test"},
		{"abJnggxhB/yWI", "password"},
		{"..X8NBuQ4l6uQ", ""},
		{"zZTmz5tm4KJnQ", "longerthan8chars"},
		{"/.Wm2zE8l90FI", "Dovecot!"},
		{"9xfv4SZHxuiso", "caf\u00e9"},
		{"./7H4fGCYxIHQ", "x"},
	} {
		for _, stored := range []string{v.hash, "{CRYPT}" + v.hash, "{DES-CRYPT}" + v.hash} {
			if ok, err := Verify(stored, v.password); err != nil || !ok {
				t.Errorf("Verify(%q, %q) = %v, %v; want true", stored, v.password, ok, err)
			}
		}
		if ok, err := Verify(v.hash, "wrong"+v.password); err != nil || ok {
			t.Errorf("Verify(%q, wrong) = %v, %v; want false", v.hash, ok, err)
		}
	}
	// crypt(3) reads eight bytes: the ninth does not matter, the eighth does.
	if ok, _ := Verify("zZTmz5tm4KJnQ", "longerthXYZ"); !ok {
		t.Error("bytes past the eighth changed the DES hash")
	}
	if ok, _ := Verify("zZTmz5tm4KJnQ", "longertX"); ok {
		t.Error("the eighth byte did not change the DES hash")
	}
}

// TestDESCryptBadSalt: a 13-character hash whose salt is outside the crypt alphabet is an
// error, not a mismatch.
func TestDESCryptBadSalt(t *testing.T) {
	t.Parallel()
	if _, err := Verify("{CRYPT}!!qPiZY5xR5l.", "test"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("bad salt: %v, want ErrUnsupported", err)
	}
}

// TestDESCore: with salt ".." (no perturbation of E) one round of desEncrypt is plain DES,
// checked against crypto/des for random keys and blocks.
func TestDESCore(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		key, block := r.Uint64(), r.Uint64()
		var kb, in, want [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(in[:], block)
		c, err := des.NewCipher(kb[:])
		if err != nil {
			t.Fatal(err)
		}
		c.Encrypt(want[:], in[:])
		ks := desSubkeys(key)
		e := desE
		if got := desEncrypt(block, &ks, &e); got != binary.BigEndian.Uint64(want[:]) {
			t.Fatalf("key %016x block %016x: got %016x, crypto/des %x", key, block, got, want)
		}
	}
}
