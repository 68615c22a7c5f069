package imapclient

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func returnSearchOptions(options *imap.SearchOptions) []string {
	if options == nil {
		return nil
	}

	m := map[string]bool{
		"MIN":   options.ReturnMin,
		"MAX":   options.ReturnMax,
		"ALL":   options.ReturnAll,
		"COUNT": options.ReturnCount,
	}

	var l []string
	for k, ret := range m {
		if ret {
			l = append(l, k)
		}
	}
	return l
}

func (c *Client) search(numKind imapwire.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) *SearchCommand {
	// The IMAP4rev2 SEARCH charset defaults to UTF-8. When UTF8=ACCEPT is
	// enabled, specifying any CHARSET is invalid. For IMAP4rev1 the default is
	// undefined and only US-ASCII support is required. What's more, some
	// servers completely reject the CHARSET keyword. So, let's check if we
	// actually have UTF-8 strings in the search criteria before using that.
	// TODO: there might be a benefit in specifying CHARSET UTF-8 for IMAP4rev1
	// servers even if we only send ASCII characters: the server then must
	// decode encoded headers and Content-Transfer-Encoding before matching the
	// criteria.
	var charset string
	if !c.useQuotedUTF8() && !searchCriteriaIsASCII(criteria) {
		charset = "UTF-8"
	}

	var all imap.NumSet
	switch numKind {
	case imapwire.NumKindSeq:
		all = imap.SeqSet(nil)
	case imapwire.NumKindUID:
		all = imap.UIDSet(nil)
	}

	cmd := &SearchCommand{}
	cmd.data.All = all
	enc := c.beginCommand(uidCmdName("SEARCH", numKind), cmd)
	if returnOpts := returnSearchOptions(options); len(returnOpts) > 0 {
		enc.SP().Atom("RETURN").SP().List(len(returnOpts), func(i int) {
			enc.Atom(returnOpts[i])
		})
	}
	enc.SP()
	if charset != "" {
		enc.Atom("CHARSET").SP().Atom(charset).SP()
	}
	writeSearchKey(enc.Encoder, criteria, c.Caps().Has(imap.CapCondStore))
	enc.end()
	return cmd
}

// Search sends a SEARCH command.
func (c *Client) Search(criteria *imap.SearchCriteria, options *imap.SearchOptions) *SearchCommand {
	return c.search(imapwire.NumKindSeq, criteria, options)
}

// UIDSearch sends a UID SEARCH command.
func (c *Client) UIDSearch(criteria *imap.SearchCriteria, options *imap.SearchOptions) *SearchCommand {
	return c.search(imapwire.NumKindUID, criteria, options)
}

// MultiSearch sends an RFC 7377 ESEARCH command, searching the mailboxes
// described by source (advertised as the MULTISEARCH capability). A nil or zero
// source searches the currently selected mailbox. ESEARCH always reports UIDs;
// each *imap.SearchData in the result carries its Mailbox and UIDValidity.
func (c *Client) MultiSearch(source *imap.SearchSource, criteria *imap.SearchCriteria, options *imap.SearchOptions) *MultiSearchCommand {
	var charset string
	if !c.useQuotedUTF8() && !searchCriteriaIsASCII(criteria) {
		charset = "UTF-8"
	}

	cmd := &MultiSearchCommand{}
	// Since we aggregate one ESEARCH response per mailbox, we don't prepopulate
	// cmd.data here.
	enc := c.beginCommand("ESEARCH", cmd)
	if source != nil && !source.IsZero() {
		enc.SP().Atom("IN").SP()
		writeSearchSource(enc.Encoder, source)
	}
	if returnOpts := returnSearchOptions(options); len(returnOpts) > 0 {
		enc.SP().Atom("RETURN").SP().List(len(returnOpts), func(i int) {
			enc.Atom(returnOpts[i])
		})
	}
	enc.SP()
	if charset != "" {
		enc.Atom("CHARSET").SP().Atom(charset).SP()
	}
	writeSearchKey(enc.Encoder, criteria, c.Caps().Has(imap.CapCondStore))
	enc.end()
	return cmd
}

// writeSearchSource encodes an ESEARCH "IN (source-mbox)" clause (RFC 7377 §2.1).
func writeSearchSource(enc *imapwire.Encoder, source *imap.SearchSource) {
	enc.Special('(')
	first := true
	sep := func() {
		if !first {
			enc.SP()
		}
		first = false
	}
	if source.Selected {
		sep()
		enc.Atom("selected")
	}
	if source.Inboxes {
		sep()
		enc.Atom("inboxes")
	}
	if source.Personal {
		sep()
		enc.Atom("personal")
	}
	if source.Subscribed {
		sep()
		enc.Atom("subscribed")
	}
	writeFilter := func(verb string, names []string) {
		if len(names) == 0 {
			return
		}
		sep()
		enc.Atom(verb).SP()
		if len(names) == 1 {
			enc.Mailbox(names[0])
			return
		}
		enc.Special('(')
		for i, name := range names {
			if i > 0 {
				enc.SP()
			}
			enc.Mailbox(name)
		}
		enc.Special(')')
	}
	writeFilter("subtree", source.Subtree)
	writeFilter("subtree-one", source.SubtreeOne)
	writeFilter("mailboxes", source.Mailboxes)
	enc.Special(')')
}

func (c *Client) handleSearch() error {
	cmd := findPendingCmdByType[*SearchCommand](c)
	for c.dec.SP() {
		if c.dec.Special('(') {
			var name string
			if !c.dec.ExpectAtom(&name) || !c.dec.ExpectSP() {
				return c.dec.Err()
			} else if strings.ToUpper(name) != "MODSEQ" {
				return fmt.Errorf("in search-sort-mod-seq: expected %q, got %q", "MODSEQ", name)
			}
			var modSeq uint64
			if !c.dec.ExpectModSeq(&modSeq) || !c.dec.ExpectSpecial(')') {
				return c.dec.Err()
			}
			if cmd != nil {
				cmd.data.ModSeq = modSeq
			}
			break
		}

		var num uint32
		if !c.dec.ExpectNumber(&num) {
			return c.dec.Err()
		}
		if cmd != nil {
			switch all := cmd.data.All.(type) {
			case imap.SeqSet:
				all.AddNum(num)
				cmd.data.All = all
			case imap.UIDSet:
				all.AddNum(imap.UID(num))
				cmd.data.All = all
			}
		}
	}
	return nil
}

func (c *Client) handleESearch() error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	tag, data, err := readESearchResponse(c.dec)
	if err != nil {
		return err
	}
	cmd := c.findPendingCmdFunc(func(anyCmd command) bool {
		switch cmd := anyCmd.(type) {
		case *SearchCommand:
			if tag != "" {
				return cmd.tag == tag
			}
			return true
		case *MultiSearchCommand:
			if tag != "" {
				return cmd.tag == tag
			}
			return true
		}
		return false
	})
	if cmd != nil {
		switch cmd := cmd.(type) {
		case *SearchCommand:
			cmd.data = *data
		case *MultiSearchCommand:
			cmd.data = append(cmd.data, data)
		}
	}
	return nil
}

// SearchCommand is a SEARCH command.
type SearchCommand struct {
	commandBase
	data imap.SearchData
}

func (cmd *SearchCommand) Wait() (*imap.SearchData, error) {
	return &cmd.data, cmd.wait()
}

// MultiSearchCommand is a MULTISEARCH command.
type MultiSearchCommand struct {
	commandBase
	data []*imap.SearchData
}

func (cmd *MultiSearchCommand) Wait() ([]*imap.SearchData, error) {
	return cmd.data, cmd.wait()
}

func writeSearchKey(enc *imapwire.Encoder, criteria *imap.SearchCriteria, condstore bool) {
	firstItem := true
	encodeItem := func() *imapwire.Encoder {
		if !firstItem {
			enc.SP()
		}
		firstItem = false
		return enc
	}

	for _, seqSet := range criteria.SeqNum {
		encodeItem().NumSet(seqSet)
	}
	for _, uidSet := range criteria.UID {
		encodeItem().Atom("UID").SP().NumSet(uidSet)
	}

	if !criteria.Since.IsZero() && !criteria.Before.IsZero() && criteria.Before.Sub(criteria.Since) == 24*time.Hour {
		encodeItem().Atom("ON").SP().String(criteria.Since.Format(internal.DateLayout))
	} else {
		if !criteria.Since.IsZero() {
			encodeItem().Atom("SINCE").SP().String(criteria.Since.Format(internal.DateLayout))
		}
		if !criteria.Before.IsZero() {
			encodeItem().Atom("BEFORE").SP().String(criteria.Before.Format(internal.DateLayout))
		}
	}
	if !criteria.SentSince.IsZero() && !criteria.SentBefore.IsZero() && criteria.SentBefore.Sub(criteria.SentSince) == 24*time.Hour {
		encodeItem().Atom("SENTON").SP().String(criteria.SentSince.Format(internal.DateLayout))
	} else {
		if !criteria.SentSince.IsZero() {
			encodeItem().Atom("SENTSINCE").SP().String(criteria.SentSince.Format(internal.DateLayout))
		}
		if !criteria.SentBefore.IsZero() {
			encodeItem().Atom("SENTBEFORE").SP().String(criteria.SentBefore.Format(internal.DateLayout))
		}
	}

	for _, kv := range criteria.Header {
		switch k := strings.ToUpper(kv.Key); k {
		case "BCC", "CC", "FROM", "SUBJECT", "TO":
			encodeItem().Atom(k)
		default:
			encodeItem().Atom("HEADER").SP().String(kv.Key)
		}
		enc.SP().String(kv.Value)
	}

	for _, s := range criteria.Body {
		encodeItem().Atom("BODY").SP().String(s)
	}
	for _, s := range criteria.Text {
		encodeItem().Atom("TEXT").SP().String(s)
	}

	for _, flag := range criteria.Flag {
		if k := flagSearchKey(flag); k != "" {
			encodeItem().Atom(k)
		} else {
			encodeItem().Atom("KEYWORD").SP().Flag(flag)
		}
	}
	for _, flag := range criteria.NotFlag {
		if k := flagSearchKey(flag); k != "" {
			encodeItem().Atom("UN" + k)
		} else {
			encodeItem().Atom("UNKEYWORD").SP().Flag(flag)
		}
	}

	if criteria.Larger > 0 {
		encodeItem().Atom("LARGER").SP().Number64(criteria.Larger)
	}
	if criteria.Smaller > 0 {
		encodeItem().Atom("SMALLER").SP().Number64(criteria.Smaller)
	}

	if modSeq := criteria.ModSeq; modSeq != nil && condstore {
		encodeItem().Atom("MODSEQ")
		if modSeq.MetadataName != "" && modSeq.MetadataType != "" {
			enc.SP().Quoted(modSeq.MetadataName).SP().Atom(string(modSeq.MetadataType))
		}
		enc.SP()
		if modSeq.ModSeq != 0 {
			enc.ModSeq(modSeq.ModSeq)
		} else {
			enc.Atom("0")
		}
	}

	for _, not := range criteria.Not {
		encodeItem().Atom("NOT").SP()
		enc.Special('(')
		writeSearchKey(enc, &not, condstore)
		enc.Special(')')
	}
	for _, or := range criteria.Or {
		encodeItem().Atom("OR").SP()
		enc.Special('(')
		writeSearchKey(enc, &or[0], condstore)
		enc.Special(')')
		enc.SP()
		enc.Special('(')
		writeSearchKey(enc, &or[1], condstore)
		enc.Special(')')
	}

	if firstItem {
		enc.Atom("ALL")
	}
}

func flagSearchKey(flag imap.Flag) string {
	switch flag {
	case imap.FlagAnswered, imap.FlagDeleted, imap.FlagDraft, imap.FlagFlagged, imap.FlagSeen:
		return strings.ToUpper(strings.TrimPrefix(string(flag), "\\"))
	default:
		return ""
	}
}

func readESearchResponse(dec *imapwire.Decoder) (tag string, data *imap.SearchData, err error) {
	data = &imap.SearchData{}
	if dec.Special('(') { // search-correlator
		// RFC 7377 §2.1: the correlator carries TAG plus, for multi-mailbox
		// results, MAILBOX and UIDVALIDITY — all inside the same parentheses.
		for {
			var itemName string
			if !dec.ExpectAtom(&itemName) || !dec.ExpectSP() {
				return "", nil, dec.Err()
			}
			switch strings.ToUpper(itemName) {
			case "TAG":
				if !dec.ExpectAString(&tag) {
					return "", nil, dec.Err()
				}
			case "MAILBOX":
				if !dec.ExpectMailbox(&data.Mailbox) {
					return "", nil, dec.Err()
				}
			case "UIDVALIDITY":
				if !dec.ExpectNumber(&data.UIDValidity) {
					return "", nil, dec.Err()
				}
			default:
				return "", nil, fmt.Errorf("in search-correlator: unknown item %q", itemName)
			}
			if !dec.SP() {
				break
			}
		}
		if !dec.ExpectSpecial(')') {
			return "", nil, dec.Err()
		}
	}

	var name string
	if !dec.SP() {
		return tag, data, nil
	} else if !dec.ExpectAtom(&name) {
		return "", nil, dec.Err()
	}
	isUID := name == "UID"

	if isUID {
		if !dec.SP() {
			return tag, data, nil
		} else if !dec.ExpectAtom(&name) {
			return "", nil, dec.Err()
		}
	}

	for {
		if !dec.ExpectSP() {
			return "", nil, dec.Err()
		}

		switch strings.ToUpper(name) {
		case "MAILBOX":
			var mbox string
			if !dec.ExpectMailbox(&mbox) {
				return "", nil, dec.Err()
			}
			data.Mailbox = mbox
		case "MIN":
			var num uint32
			if !dec.ExpectNumber(&num) {
				return "", nil, dec.Err()
			}
			data.Min = num
		case "MAX":
			var num uint32
			if !dec.ExpectNumber(&num) {
				return "", nil, dec.Err()
			}
			data.Max = num
		case "ALL":
			numKind := imapwire.NumKindSeq
			if isUID {
				numKind = imapwire.NumKindUID
			}
			// The loop's own ExpectSP above already consumed the SP between
			// "ALL" and the sequence-set; do not read a second one here.
			if !dec.ExpectNumSet(numKind, &data.All) {
				return "", nil, dec.Err()
			}
			if data.All.Dynamic() {
				return "", nil, fmt.Errorf("imapclient: server returned a dynamic ALL number set in SEARCH response")
			}
			const maxAllResultSize = 10_000_000
			var cardinality uint64
			switch set := data.All.(type) {
			case imap.SeqSet:
				cardinality = set.Cardinality()
			case imap.UIDSet:
				cardinality = set.Cardinality()
			}
			if cardinality > maxAllResultSize {
				return "", nil, fmt.Errorf("imapclient: server returned ALL set with %d entries (cap %d)", cardinality, maxAllResultSize)
			}
		case "COUNT":
			var num uint32
			if !dec.ExpectNumber(&num) {
				return "", nil, dec.Err()
			}
			data.Count = num
		case "MODSEQ":
			// RFC 7162 §3.4: MODSEQ appears as a bare "MODSEQ <value>" item
			// in an ESEARCH response.
			var modSeq uint64
			if !dec.ExpectModSeq(&modSeq) {
				return "", nil, dec.Err()
			}
			data.ModSeq = modSeq
		default:
			if !dec.DiscardValue() {
				return "", nil, dec.Err()
			}
		}

		if !dec.SP() {
			break
		} else if dec.Special('(') {
			// Compatibility path: some servers incorrectly wrap MODSEQ in
			// parentheses as "(MODSEQ n)" instead of the RFC-correct bare
			// "MODSEQ n".  Accept both forms.
			var atomName string
			if !dec.ExpectAtom(&atomName) {
				return "", nil, dec.Err()
			}
			if strings.ToUpper(atomName) == "MODSEQ" {
				var modSeq uint64
				if !dec.ExpectSP() || !dec.ExpectModSeq(&modSeq) || !dec.ExpectSpecial(')') {
					return "", nil, dec.Err()
				}
				data.ModSeq = modSeq
			} else {
				// Unknown parenthesized item, skip it
				if !dec.DiscardValue() || !dec.ExpectSpecial(')') {
					return "", nil, dec.Err()
				}
			}
			// Continue to check for more items
			if !dec.SP() {
				break
			} else if !dec.ExpectAtom(&name) {
				return "", nil, dec.Err()
			}
		} else if !dec.ExpectAtom(&name) {
			return "", nil, dec.Err()
		}
	}

	return tag, data, nil
}

func searchCriteriaIsASCII(criteria *imap.SearchCriteria) bool {
	for _, kv := range criteria.Header {
		if !isASCII(kv.Key) || !isASCII(kv.Value) {
			return false
		}
	}
	for _, s := range criteria.Body {
		if !isASCII(s) {
			return false
		}
	}
	for _, s := range criteria.Text {
		if !isASCII(s) {
			return false
		}
	}
	for _, not := range criteria.Not {
		if !searchCriteriaIsASCII(&not) {
			return false
		}
	}
	for _, or := range criteria.Or {
		if !searchCriteriaIsASCII(&or[0]) || !searchCriteriaIsASCII(&or[1]) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > unicode.MaxASCII {
			return false
		}
	}
	return true
}
