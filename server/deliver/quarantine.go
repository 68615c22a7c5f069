package deliver

// junkMailbox is where quarantined mail goes (one of the default mailboxes).
const junkMailbox = "Junk"

// quarantined files a message the sender's DMARC policy put in quarantine:
// every copy Sieve kept goes to Junk instead, and no redirect or vacation
// reply goes out for it (it may well be forged, and replies would be
// backscatter). A Sieve reject or discard still stands; the caller turns a
// redirect into a stored copy first (holdBack), so a redirect-only script
// does not discard it.
func quarantined(d decision) decision {
	if d.Reject != "" || len(d.Placements) == 0 {
		return decision{Reject: d.Reject}
	}
	var flags []string
	for _, p := range d.Placements {
		flags = append(flags, p.Flags...)
	}
	return decision{Placements: dedupePlacements([]placement{{Mailbox: junkMailbox, Flags: flags, Create: true}}),
		Rules: append(d.Rules, "quarantined into "+junkMailbox)}
}
