package config

import "path/filepath"

// DKIMDir holds the DKIM signing keys: state_dir/dkim (see server/dkimkeys).
func (c *Config) DKIMDir() string { return filepath.Join(c.StateDir, "dkim") }

// SPF configures SPF checks of mail from the internet.
type SPF struct {
	Check bool `toml:"check" doc:"Check SPF (RFC 7208) for the MAIL FROM and HELO names of mail arriving on the smtp listener from clients outside trusted_networks; the result is recorded in Authentication-Results and used by DMARC."`
}

// DKIM configures DKIM verification of incoming and signing of outgoing mail.
type DKIM struct {
	Verify       bool `toml:"verify" doc:"Verify every DKIM signature (RFC 6376) of mail arriving on the smtp listener from clients outside trusted_networks."`
	Sign         bool `toml:"sign" doc:"Sign outgoing mail from our domains with the domain's active key under state_dir/dkim (made by \"postern dkim keygen\"); a domain without a key is sent unsigned."`
	SignViaRelay bool `toml:"sign_via_relay" doc:"Sign also when mail leaves through [relay]; off because smart hosts such as Fastmail sign with their own keys."`
}

// DMARC configures DMARC evaluation of incoming mail.
type DMARC struct {
	Check   bool `toml:"check" doc:"Evaluate DMARC (RFC 7489) for the From: domain of mail arriving on the smtp listener from clients outside trusted_networks, using the SPF and DKIM results."`
	Enforce bool `toml:"enforce" doc:"Apply the sender domain's policy: p=reject is refused with 550 5.7.1 at the end of DATA, p=quarantine is filed into Junk, and a DNS failure that keeps DMARC from a verdict is answered 451 4.7.0; false only records the result."`
}
