package deliver

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store/maildir"
)

// writeGroups writes the message into the targets: one maildir.Deliver (one file,
// linked into the others) for the copies stored as the message came, and one per
// distinct header Sieve's editheader produced, which replaces the message's own
// header in front of the same body. It returns the delivered files with their targets
// and owners in the same order; on error nothing stays behind.
func (a *Agent) writeGroups(msg smtp.Message, header []byte, targets []maildir.Target, owners []string, edited [][]byte) ([]maildir.Delivered, []maildir.Target, []string, error) {
	type group struct {
		hdr     []byte
		targets []maildir.Target
		owners  []string
	}
	var groups []*group
	byHeader := map[string]*group{}
	for i, t := range targets {
		key := "\x00"
		if edited[i] != nil {
			key = string(edited[i])
		}
		g := byHeader[key]
		if g == nil {
			g = &group{hdr: edited[i]}
			byHeader[key] = g
			groups = append(groups, g)
		}
		g.targets = append(g.targets, t)
		g.owners = append(g.owners, owners[i])
	}
	var done []maildir.Delivered
	var outT []maildir.Target
	var outO []string
	for _, g := range groups {
		d, err := a.writeGroup(msg, header, g.hdr, g.targets)
		if err != nil {
			for _, x := range done {
				_ = maildir.Remove(x.Path)
			}
			return nil, nil, nil, err
		}
		done = append(done, d...)
		outT = append(outT, g.targets...)
		outO = append(outO, g.owners...)
	}
	return done, outT, outO, nil
}

func (a *Agent) writeGroup(msg smtp.Message, header, edited []byte, targets []maildir.Target) ([]maildir.Delivered, error) {
	body, err := msg.Open()
	if err != nil {
		return nil, fmt.Errorf("opening spooled message: %w", err)
	}
	defer body.Close()
	var r io.Reader = body
	if edited != nil {
		br := bufio.NewReaderSize(body, 32<<10)
		if err := skipHeader(br); err != nil {
			return nil, fmt.Errorf("reading the spooled header: %w", err)
		}
		header = append(append([]byte(nil), header...), edited...)
		r = br
	}
	return maildir.Deliver(a.namer, targets, header, r)
}

// skipHeader reads up to and including the blank line that ends the header (all of a
// message without one).
func skipHeader(br *bufio.Reader) error {
	atLineStart := true
	for {
		line, err := br.ReadSlice('\n')
		if atLineStart && (string(line) == "\r\n" || string(line) == "\n") {
			return nil
		}
		atLineStart = err == nil
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}
