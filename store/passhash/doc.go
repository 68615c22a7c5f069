// Package passhash verifies password hashes written by other mail servers, so users
// imported from Dovecot (postern import passwd-file) log in with the passwords they have.
//
// A stored hash is Dovecot's "{SCHEME}data" form. Verify understands the schemes Dovecot
// writes: ARGON2ID and ARGON2I (PHC strings), SHA512-CRYPT and SHA256-CRYPT (Drepper's
// SHA-crypt, implemented here from the public specification), BLF-CRYPT (bcrypt, $2a$,
// $2b$, $2y$), MD5-CRYPT, PBKDF2 (Dovecot's $1$salt$rounds$hex form, HMAC-SHA1), SSHA512,
// SSHA256, SSHA, SMD5, SHA512, SHA256, SHA, PLAIN-MD5, CRYPT (crypt(3) strings: the $1$,
// $5$, $6$ and $2?$ forms and traditional DES, the last written here from FIPS 46-3 since
// crypto/des cannot take crypt's salted expansion) and PLAIN (also CLEAR, CLEARTEXT). A
// scheme name may carry Dovecot's encoding suffix (.b64, .hex). A hash without "{SCHEME}"
// is taken as CRYPT, Dovecot's default for passwd-file.
//
// Every comparison of derived bytes is constant-time (crypto/subtle); PLAIN compares
// SHA-256 digests of both sides so that the length of the stored password does not show
// either. Work factors are bounded (bcrypt cost, SHA-crypt and PBKDF2 rounds, argon2
// memory) so that a hash from a file cannot make one login run for hours; a hash beyond
// the bounds is an error, not a silent failure.
//
// The package only verifies. The store re-hashes a verified password with its own
// argon2id at the first successful login, so foreign hashes disappear as users log in.
package passhash
