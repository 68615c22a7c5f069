package relay

import (
	"sort"
	"strings"
)

// Preset is a known smart-host provider: where to connect, and the DNS
// records a domain needs for the provider to send as it. The DNS hints are
// what these providers documented when this table was written; they change,
// so Notes always says to check the provider's own documentation.
type Preset struct {
	Name       string
	Host       string // "REGION" in the host is replaced by LookupPreset's region
	Port       int
	TLS        TLSMode
	AltPort    int // the other supported port, 0 if none
	AltTLS     TLSMode
	SPF        string // mechanism to add to the domain's SPF record
	DKIM       string // what to publish for DKIM
	Username   string // what the username is
	Notes      string
	AuthAdvice string // shown by Diagnose when AUTH is refused
}

const checkDocs = " Check your provider's documentation: these details change."

// Presets returns the provider table, sorted by name.
func Presets() []Preset {
	p := []Preset{
		{Name: "fastmail", Host: "smtp.fastmail.com", Port: 465, TLS: TLSImplicit, AltPort: 587, AltTLS: TLSStartTLS,
			SPF: "include:spf.messagingengine.com", DKIM: "CNAME fm1._domainkey, fm2._domainkey, fm3._domainkey -> fmN.YOURDOMAIN.dkim.fmhosted.com",
			Username: "your full Fastmail address", Notes: "Use an app password with SMTP access." + checkDocs,
			AuthAdvice: "Fastmail needs an app password (Settings > Privacy & Security > Manage app passwords, with SMTP access), " +
				"sending through Fastmail's SMTP needs a Standard plan or higher, and the username is your full Fastmail address."},
		{Name: "mailgun", Host: "smtp.mailgun.org", Port: 587, TLS: TLSStartTLS, AltPort: 465, AltTLS: TLSImplicit,
			SPF: "include:mailgun.org", DKIM: "TXT record shown in the Mailgun dashboard for your sending domain",
			Username: "the SMTP login of your Mailgun domain (e.g. postmaster@mg.example.com)", Notes: "EU accounts use smtp.eu.mailgun.org." + checkDocs,
			AuthAdvice: "Mailgun wants the SMTP credentials of the sending domain (Sending > Domain settings > SMTP credentials), not your account login."},
		{Name: "brevo", Host: "smtp-relay.brevo.com", Port: 587, TLS: TLSStartTLS,
			SPF: "include:spf.brevo.com", DKIM: "records shown under Senders, Domains & Dedicated IPs in Brevo",
			Username: "the SMTP login shown in Brevo's SMTP & API page", Notes: checkDocs[1:],
			AuthAdvice: "Brevo wants the SMTP key from its SMTP & API page as the password, and the SMTP login shown there as the username."},
		{Name: "postmark", Host: "smtp.postmarkapp.com", Port: 587, TLS: TLSStartTLS,
			SPF: "none needed for the From domain (Postmark's Return-Path domain covers SPF)", DKIM: "TXT record shown in Postmark's Sender Signatures / Domains page",
			Username: "a Server API token (also the password)", Notes: checkDocs[1:],
			AuthAdvice: "Postmark uses a Server API token as both username and password."},
		{Name: "ses", Host: "email-smtp.REGION.amazonaws.com", Port: 587, TLS: TLSStartTLS, AltPort: 465, AltTLS: TLSImplicit,
			SPF: "include:amazonses.com (only with a custom MAIL FROM domain)", DKIM: "three CNAMEs TOKEN._domainkey -> TOKEN.dkim.amazonses.com (Easy DKIM)",
			Username: "SES SMTP credentials (not your IAM access key)", Notes: "REGION is your SES region, e.g. eu-west-1." + checkDocs,
			AuthAdvice: "Amazon SES wants SMTP credentials made in the SES console for this region; plain IAM access keys do not work, and new accounts start in the sandbox."},
		{Name: "smtp2go", Host: "mail.smtp2go.com", Port: 587, TLS: TLSStartTLS, AltPort: 465, AltTLS: TLSImplicit,
			SPF: "include:spf.smtp2go.com", DKIM: "CNAME records shown in SMTP2GO's Sender Domains page",
			Username: "an SMTP user created in SMTP2GO", Notes: checkDocs[1:],
			AuthAdvice: "SMTP2GO wants one of the SMTP users you created under Sending > SMTP Users."},
		{Name: "gmail", Host: "smtp.gmail.com", Port: 587, TLS: TLSStartTLS, AltPort: 465, AltTLS: TLSImplicit,
			SPF: "include:_spf.google.com", DKIM: "TXT google._domainkey from the Google Workspace admin console (Workspace only)",
			Username: "your full Gmail or Workspace address", Notes: "Gmail rewrites From to the account's address unless it is a verified alias." + checkDocs,
			AuthAdvice: "Gmail needs an app password (2-Step Verification must be on); your normal password is refused."},
	}
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
	return p
}

// LookupPreset finds a provider by name (case-insensitive). region fills
// REGION in the host (SES); "" leaves it.
func LookupPreset(name, region string) (Preset, bool) {
	for _, p := range Presets() {
		if strings.EqualFold(p.Name, name) {
			if region != "" {
				p.Host = strings.ReplaceAll(p.Host, "REGION", region)
			}
			return p, true
		}
	}
	return Preset{}, false
}

// presetForHost finds the preset whose host matches (for Diagnose advice).
func presetForHost(host string) (Preset, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range Presets() {
		h := p.Host
		if i := strings.Index(h, "REGION"); i >= 0 {
			if strings.HasPrefix(host, h[:i]) && strings.HasSuffix(host, h[i+len("REGION"):]) {
				return p, true
			}
			continue
		}
		if host == h || (p.Name == "mailgun" && strings.HasSuffix(host, ".mailgun.org")) {
			return p, true
		}
	}
	return Preset{}, false
}
