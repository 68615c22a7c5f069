package spamlearn

import (
	"bytes"
	"fmt"
	"os"
)

// ReadPasswordFile reads the controller's password from the first line of
// path, refusing a file others can read (the rule for every secret file).
func ReadPasswordFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("spam_learning.password_file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("spam_learning.password_file %s is readable by others (mode %04o); make it private: chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("spam_learning.password_file: %w", err)
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		data = data[:i]
	}
	if len(data) == 0 {
		return "", fmt.Errorf("spam_learning.password_file %s is empty", path)
	}
	return string(data), nil
}
