package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// router is the queue's Transport: it sends each recipient the way the routes say,
// one relay client per way out, and hands the recipients of a relay that cannot be
// reached to its fallback in the same attempt.
type router struct {
	route    func(rcptDomain, senderDomain string) string // config.RouteFor
	clients  map[string]*relay.Client
	fallback map[string]string // target -> its fallback target
	log      *slog.Logger
}

// newRouter makes one client per target of opts.
func newRouter(cfg *config.Config, opts map[string]relay.Options, log *slog.Logger) (*router, error) {
	r := &router{route: cfg.RouteFor, clients: make(map[string]*relay.Client), fallback: make(map[string]string), log: log}
	for name, o := range opts {
		c, err := relay.New(o)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("%s: %w", relayTarget(name), err)
		}
		r.clients[name] = c
		if rc := cfg.RelayByName(name); rc != nil && name != config.ViaDirect && rc.Fallback != "" {
			r.fallback[name] = rc.Fallback
		}
	}
	return r, nil
}

func (r *router) close() {
	for _, c := range r.clients {
		c.Close()
	}
}

// routeGroup is the recipients of one message that leave the same way.
type routeGroup struct {
	target string
	rcpts  []string
}

// group splits rcpts by route, keeping their order within each group and the groups
// in the order of their first recipient.
func (r *router) group(from string, rcpts []string) []routeGroup {
	var groups []routeGroup
	index := make(map[string]int)
	sender := domainPart(from)
	for _, rcpt := range rcpts {
		t := r.route(domainPart(rcpt), sender)
		i, ok := index[t]
		if !ok {
			i = len(groups)
			index[t] = i
			groups = append(groups, routeGroup{target: t})
		}
		groups[i].rcpts = append(groups[i].rcpts, rcpt)
	}
	return groups
}

func domainPart(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// Send implements queue.Transport.
func (r *router) Send(ctx context.Context, m *queue.Message, rcpts []string) []queue.Result {
	return r.sendAll(ctx, m.ID, m.From, rcpts, func() io.ReadSeeker { return m.Body() })
}

// sendAll sends one message to rcpts and returns a result per recipient, in order.
func (r *router) sendAll(ctx context.Context, id, from string, rcpts []string, body func() io.ReadSeeker) []queue.Result {
	byRcpt := make(map[string]queue.Result, len(rcpts))
	for _, g := range r.group(from, rcpts) {
		target := g.target
		tried := map[string]bool{}
		for {
			tried[target] = true
			r.log.Info("route", "queue_id", id, "to", strings.Join(g.rcpts, ","), "route", relayTarget(target))
			res, err := r.sendVia(ctx, target, from, g.rcpts, body())
			fb, hasFB := r.fallback[target]
			if hasFB && !tried[fb] && unreachable(err) {
				r.log.Warn("relay unreachable, trying its fallback", "queue_id", id,
					"relay", relayTarget(target), "fallback", relayTarget(fb), "err", err)
				target = fb
				continue
			}
			for _, x := range res {
				byRcpt[x.Rcpt] = x
			}
			break
		}
	}
	out := make([]queue.Result, len(rcpts))
	for i, rcpt := range rcpts {
		res, ok := byRcpt[rcpt]
		if !ok {
			res = queue.Result{Rcpt: rcpt, Temporary: true, Text: "no result"}
		}
		out[i] = res
	}
	return out
}

// unreachable reports whether err says the relay could not be used at all: it failed
// before MAIL FROM (DNS, connect, TLS, greeting, EHLO, AUTH), so nothing was sent and
// another relay may take the recipients at once.
func unreachable(err error) bool {
	var re *relay.Error
	if !errors.As(err, &re) || !re.Temporary {
		return false
	}
	switch re.Stage {
	case relay.StageResolve, relay.StageConnect, relay.StageTLS, relay.StageGreeting, relay.StageEHLO, relay.StageAuth:
		return true
	}
	return false
}

// sendVia sends through one target's client and maps the outcome to queue Results.
func (r *router) sendVia(ctx context.Context, target, from string, rcpts []string, body io.ReadSeeker) ([]queue.Result, error) {
	out := make([]queue.Result, len(rcpts))
	c := r.clients[target]
	if c == nil { // Validate makes this impossible; keep the mail rather than panic
		for i, rcpt := range rcpts {
			out[i] = queue.Result{Rcpt: rcpt, Temporary: true, Text: "no client for " + relayTarget(target)}
		}
		return out, nil
	}
	res, err := c.Send(ctx, relay.Envelope{From: from, Rcpts: rcpts}, body)
	for i, rcpt := range rcpts {
		out[i] = queue.Result{Rcpt: rcpt, Temporary: true, Text: "no result"}
		if err != nil {
			out[i].Text = err.Error()
			var re *relay.Error
			if errors.As(err, &re) {
				out[i].Code, out[i].Enhanced, out[i].Temporary, out[i].RemoteMTA = re.Code, re.Enhanced, re.Temporary, re.Host
			}
		}
	}
	for _, x := range res {
		for i, rcpt := range rcpts {
			if x.Rcpt == rcpt {
				out[i] = queue.Result{Rcpt: rcpt, Delivered: x.Delivered(), Temporary: x.Temporary, Code: x.Code,
					Enhanced: x.Enhanced, Text: x.Text, RemoteMTA: x.RemoteMTA}
			}
		}
	}
	return out, err
}
