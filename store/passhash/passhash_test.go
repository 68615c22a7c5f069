package passhash

import (
	"errors"
	"testing"
)

// Vectors written by `doveadm pw -s SCHEME -p 'pässwörd 1'` (Dovecot 2.3.19) and
// `openssl passwd` (for the SHA-crypt and MD5-crypt salts of the spec's examples).
var vectors = []struct{ hash, password string }{
	{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$z2kcOL9fRrXykHEBT7oYRw$WO4yo+sbcWUOZuUIytY7F6Q1fdWd3Tk35nuiUjDWFzk", "pässwörd 1"},
	{"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$27J6cAeqaiFPIdIMlBIVGg$Hb1YNCYx/tjGXxvaWbn5/AQfHTJOLZkXVpMZamnM87I", "pässwörd 1"},
	{"{SHA512-CRYPT}$6$pf2ByLsWoFvfXINQ$HSWaw/g31A6Zx878pLS2FBCwg6R5Ghn1/k5Dc8cGI8XbQeRGenqRfgyjun0jNJwglvVGo6STkNuld1TbBEW7x0", "pässwörd 1"},
	{"{SHA256-CRYPT}$5$L/Fa6N5eQc6Ox0EU$SfS1GGo03Tcm0PmBTB5lNpdthCV1tw868blJ.NaTWT4", "pässwörd 1"},
	{"{BLF-CRYPT}$2y$05$Y9y9M9cJKPPRMomzY9DVXOVKEH5KkX4xaAL12zDNVaRNq9NOv1/VG", "pässwörd 1"},
	{"{PBKDF2}$1$TTV7z6axZqvQjUrQ$5000$61688c19fc630953b67d93c53dca5d051d9d585d", "pässwörd 1"},
	{"{SSHA512}AFf7X/7nd+NmtGmSlrSFcONsDFs3wtjOuUF6qtuDcYS7j3Rf1FU1RB13iuXo1pwiDrLL8SksiyPJRmsrZxehYr3Slxs=", "pässwörd 1"},
	{"{SSHA}WBg2kdUSENeilGOk/NxTS+f1A6gUyOfD", "pässwörd 1"},
	{"{CRYPT}$2y$05$cAMV1VnHZ.9SdFqRHLNiqe.SwEpfcjDxMsnTQ.a8yaE.rkPx1uNpy", "pässwörd 1"},
	{"{PLAIN}pässwörd 1", "pässwörd 1"},
	{"{MD5-CRYPT}$1$QZ4TMk0D$Mm2vYRn1pBXMoN2sAis2x.", "pässwörd 1"},
	{"{SHA512}MGrCWX/OaIyw5xBZ0RrM2vwe1YHoo2MD/NKt2+vkfLiudEOMnHxXTsVXCSooO5eehIdUJFylnTmr3TTyK23wMw==", "pässwörd 1"},
	{"{SHA256}UODX5JZHe18JVwv9yvMbAoeS719Y7fwn28vMuM/OHRU=", "pässwörd 1"},
	{"{SHA}/Hrn08gEogcgvDjo5YNQSGibZVE=", "pässwörd 1"},
	{"{SMD5}pRDts/nHcYQaM5XqyiGKjcfHQDI=", "pässwörd 1"},
	{"{PLAIN-MD5}ce74b892da441b00f4b61523872bc6b4", "pässwörd 1"},
	{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
	{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"},
	{"$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "Hello world!"},
	// From Drepper's specification: an explicit rounds= count is kept in the output.
	{"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!"},
	{"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!"},
}

func TestVerifyVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		ok, err := Verify(v.hash, v.password)
		if err != nil || !ok {
			t.Errorf("Verify(%q) = %v, %v; want true", v.hash, ok, err)
		}
		ok, err = Verify(v.hash, v.password+"x")
		if err != nil || ok {
			t.Errorf("Verify(%q, wrong) = %v, %v; want false", v.hash, ok, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"{NOPE}x",
		"{SHA512-CRYPT}$7$abc",
		"{BLF-CRYPT}$2y$31$Y9y9M9cJKPPRMomzY9DVXOVKEH5KkX4xaAL12zDNVaRNq9NOv1/VG",
		"{SHA512-CRYPT}$6$rounds=999999999$salt$x",
		"{PBKDF2}$1$salt$99999999$00",
		"{ARGON2ID}$argon2id$v=19$m=99999999,t=3,p=1$z2kcOL9fRrXykHEBT7oYRw$WO4yo",
		"{SSHA}AAAA",
	} {
		if _, err := Verify(h, "pw"); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Verify(%q) error = %v; want ErrUnsupported", h, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.hash, v.password)
	}
	f.Add("{CRYPT}aaqPiZY5xR5l.", "test")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// Cheap shapes only: the fuzzer must not spend its time in work factors.
		if len(hash) > 300 || len(pw) > 100 {
			return
		}
		Verify(hash, pw) //nolint:errcheck // must not panic
	})
}
