package config

// Warnings lists settings that are valid but probably not what was meant,
// each formatted like an Error ("FILE:LINE: key: ..."). The server logs them
// at start; `postern config check` prints them. Call it on a valid Config.
func (c *Config) Warnings() []string {
	pr := &problems{file: c.File, lines: c.lines}
	c.relaysWarnings(pr)
	s := c.SMTP
	// RFC 5321 section 4.5.3.1.8: a server must accept at least 100
	// recipients per message.
	if s.MaxRecipients > 0 && s.MaxRecipients < 100 {
		pr.addf("smtp.max_recipients", "%d is below the 100 recipients RFC 5321 section 4.5.3.1.8 asks a server to accept", s.MaxRecipients)
	}
	for _, t := range c.Limits.listeners() {
		if t.noLogin != "" && t.l.LoginTimeout != "" {
			pr.addf("limits."+t.name+".login_timeout", "%s: the value is ignored (remove login_timeout)", t.noLogin)
		}
	}
	if err := pr.err(); err != nil {
		out := make([]string, len(pr.list))
		for i, e := range pr.list {
			out[i] = e.Error()
		}
		return out
	}
	return nil
}
