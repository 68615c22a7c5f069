package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ControllerCheck reports a configured Rspamd controller ([spam_learning] controller)
// that does not answer its /ping with "pong": what users move into Junk is then not
// learned (it waits in the spool).
func ControllerCheck(controller string, client *http.Client) Check {
	return Check{Name: "rspamd", Run: func(ctx context.Context) []Finding {
		if controller == "" {
			return ok("Spam learning is off (no [spam_learning] controller).")
		}
		url := strings.TrimSuffix(controller, "/") + "/ping"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(string(body)), "pong") {
					err = fmt.Errorf("answered %s %q, not pong", resp.Status, strings.TrimSpace(string(body)))
				}
			}
		}
		if err != nil {
			return []Finding{{Severity: Problem, Message: fmt.Sprintf("Rspamd's controller at %s does not answer: %v.", controller, err),
				Fix: "Start Rspamd (systemctl start rspamd) or fix [spam_learning] controller; until then, what users move into Junk waits unlearned in the spool."}}
		}
		return ok("Rspamd's controller at " + controller + " answers.")
	}}
}
