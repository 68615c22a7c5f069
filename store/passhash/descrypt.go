package passhash

import "fmt"

// desCrypt would compute traditional DES crypt(3); not implemented yet.
func desCrypt(setting, password string) (string, error) {
	return "", fmt.Errorf("%w: traditional DES crypt is not supported", ErrUnsupported)
}
