package imap

import (
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// The batched output must still reach the client when the server closes the
// connection right after writing: LOGOUT's BYE and tagged OK, over STARTTLS (a tls.Conn
// above the batchConn, whose close_notify sets a past write deadline) and over 993.
func TestLogoutAnswersArriveBeforeClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c, err := imapclient.DialStartTLS(e.plain, &imapclient.Options{TLSConfig: e.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT over STARTTLS: %v", err)
	}
	d := e.dial("alice@example.org", nil)
	if err := d.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT over implicit TLS: %v", err)
	}
}
