package managesieve

// cmdSpec describes one command: the state it needs, its arguments (the last optional
// ones counted by optional) and the function that runs it, which reports whether the
// session is over.
type cmdSpec struct {
	auth, unauth bool // needs the authenticated / the non-authenticated state
	args         []argKind
	optional     int
	run          func(sess *session, args []arg) bool
}

// commandTable is the command set of RFC 5804 section 2 this server implements.
func commandTable() map[string]cmdSpec {
	str := argString
	return map[string]cmdSpec{
		"CAPABILITY":     {run: (*session).cmdCapability},
		"NOOP":           {args: []argKind{str}, optional: 1, run: (*session).cmdNoop},
		"LOGOUT":         {run: (*session).cmdLogout},
		"STARTTLS":       {unauth: true, run: (*session).cmdStartTLS},
		"AUTHENTICATE":   {unauth: true, args: []argKind{str, str}, optional: 1, run: (*session).cmdAuthenticate},
		"UNAUTHENTICATE": {auth: true, run: (*session).cmdUnauthenticate},
		"HAVESPACE":      {auth: true, args: []argKind{str, argNumber}, run: (*session).cmdHaveSpace},
		"PUTSCRIPT":      {auth: true, args: []argKind{str, str}, run: (*session).cmdPutScript},
		"CHECKSCRIPT":    {auth: true, args: []argKind{str}, run: (*session).cmdCheckScript},
		"LISTSCRIPTS":    {auth: true, run: (*session).cmdListScripts},
		"SETACTIVE":      {auth: true, args: []argKind{str}, run: (*session).cmdSetActive},
		"GETSCRIPT":      {auth: true, args: []argKind{str}, run: (*session).cmdGetScript},
		"DELETESCRIPT":   {auth: true, args: []argKind{str}, run: (*session).cmdDeleteScript},
		"RENAMESCRIPT":   {auth: true, args: []argKind{str, str}, run: (*session).cmdRenameScript},
	}
}

// cmdNoop answers NOOP, echoing its tag (RFC 5804 section 2.13).
func (sess *session) cmdNoop(args []arg) bool {
	if len(args) == 1 {
		sess.write(reply("OK", codeTag, args[0].s, "Done"))
		return false
	}
	sess.ok("Done")
	return false
}

// cmdLogout ends the session (RFC 5804 section 2.3).
func (sess *session) cmdLogout([]arg) bool {
	sess.ok("Logout completed.")
	_ = sess.flush()
	return true
}
