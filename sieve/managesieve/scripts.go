package managesieve

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

// opTimeout bounds one store or compile call.
const opTimeout = 30 * time.Second

func (sess *session) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(sess.ctx, opTimeout)
}

// storeFailed answers a failed Scripts call with the response code its error maps to.
func (sess *session) storeFailed(err error, name string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		sess.no(codeNonexistent, "There is no script named "+clip(name)+".")
	case errors.Is(err, store.ErrExists):
		sess.no(codeExists, "A script named "+clip(name)+" already exists.")
	case errors.Is(err, store.ErrInUse):
		sess.no(codeActive, "The script "+clip(name)+" is active; deactivate it first.")
	case errors.Is(err, store.ErrInvalid):
		sess.no("", err.Error())
	default:
		sess.log.Error("managesieve: script store failed", "err", err)
		sess.no(codeTryLater, "Internal error; try again later.")
	}
}

// checkName applies the script-name rules (RFC 5804 section 1.6) before any store call.
func (sess *session) checkName(name string) bool {
	if err := store.CheckSieveScriptName(name); err != nil {
		sess.no("", "Invalid script name.")
		return false
	}
	return true
}

// cmdHaveSpace answers whether a script of that size could be stored (section 2.5).
func (sess *session) cmdHaveSpace(args []arg) bool {
	name, size := args[0].s, args[1].n
	if !sess.checkName(name) {
		return false
	}
	if size > sess.srv.opts.MaxScriptSize {
		sess.no(codeQuotaMaxSize, "Scripts are limited to "+strconv.FormatInt(sess.srv.opts.MaxScriptSize, 10)+" octets.")
		return false
	}
	if !sess.roomFor(name) {
		return false
	}
	sess.ok("Putscript would succeed.")
	return false
}

// roomFor checks the per-user script count for a new name.
func (sess *session) roomFor(name string) bool {
	ctx, cancel := sess.opCtx()
	defer cancel()
	list, err := sess.srv.opts.Scripts.ListScripts(ctx, sess.user)
	if err != nil {
		sess.storeFailed(err, name)
		return false
	}
	for _, sc := range list {
		if sc.Name == name {
			return true
		}
	}
	if len(list) >= sess.srv.opts.MaxScripts {
		sess.no(codeQuotaScripts, "Too many scripts; delete one first.")
		return false
	}
	return true
}

// compile validates a script; a broken one is refused with its line and column.
func (sess *session) compile(name, src string) bool {
	if int64(len(src)) > sess.srv.opts.MaxScriptSize {
		sess.no(codeQuotaMaxSize, "Script too large.")
		return false
	}
	ctx, cancel := sess.opCtx()
	defer cancel()
	err := sess.srv.opts.Compile(ctx, sess.user, name, []byte(src))
	var ce *sieve.CompileError
	switch {
	case err == nil:
		return true
	case errors.As(err, &ce):
		sess.no("", compileMessage(ce))
	default:
		sess.log.Error("managesieve: compiling failed", "err", err)
		sess.no(codeTryLater, "Internal error; try again later.")
	}
	return false
}

// compileMessage is the text of a NO for a broken script, in the "line N: error:"
// style clients show to their users (as Pigeonhole words it).
func compileMessage(ce *sieve.CompileError) string {
	where := fmt.Sprintf("line %d, column %d", ce.Line, ce.Col)
	if ce.Script != "" && ce.Script != "script" {
		where = ce.Script + ": " + where
	}
	return fmt.Sprintf("%s: error: %s (%s).", where, ce.Msg, ce.Class)
}

// cmdPutScript validates and stores a script (section 2.6).
func (sess *session) cmdPutScript(args []arg) bool {
	name, src := args[0].s, args[1].s
	if !sess.checkName(name) || !sess.roomFor(name) || !sess.compile(name, src) {
		return false
	}
	ctx, cancel := sess.opCtx()
	defer cancel()
	if err := sess.srv.opts.Scripts.PutScript(ctx, sess.user, name, src); err != nil {
		sess.storeFailed(err, name)
		return false
	}
	sess.log.Info("managesieve: script stored", "script", name, "size", len(src))
	sess.ok("Script stored.")
	return false
}

// cmdCheckScript validates without storing (section 2.12).
func (sess *session) cmdCheckScript(args []arg) bool {
	if sess.compile("script", args[0].s) {
		sess.ok("Script is valid.")
	}
	return false
}

// cmdListScripts lists the user's scripts, the active one marked (section 2.7).
func (sess *session) cmdListScripts([]arg) bool {
	ctx, cancel := sess.opCtx()
	defer cancel()
	list, err := sess.srv.opts.Scripts.ListScripts(ctx, sess.user)
	if err != nil {
		sess.storeFailed(err, "")
		return false
	}
	for _, sc := range list {
		sess.write(quote(sc.Name))
		if sc.Active {
			sess.write(" ACTIVE")
		}
		sess.write("\r\n")
	}
	sess.ok("Listscripts completed.")
	return false
}

// cmdSetActive activates a script, or deactivates all with "" (section 2.8).
func (sess *session) cmdSetActive(args []arg) bool {
	name := args[0].s
	ctx, cancel := sess.opCtx()
	defer cancel()
	if err := sess.srv.opts.Scripts.SetActive(ctx, sess.user, name); err != nil {
		sess.storeFailed(err, name)
		return false
	}
	sess.log.Info("managesieve: active script set", "script", name)
	sess.ok("Active script set.")
	return false
}

// cmdGetScript returns a script as a literal (section 2.9).
func (sess *session) cmdGetScript(args []arg) bool {
	name := args[0].s
	ctx, cancel := sess.opCtx()
	defer cancel()
	sc, err := sess.srv.opts.Scripts.GetScript(ctx, sess.user, name)
	if err != nil {
		sess.storeFailed(err, name)
		return false
	}
	sess.write("{" + strconv.Itoa(len(sc.Content)) + "}\r\n" + sc.Content + "\r\n")
	sess.ok("Getscript completed.")
	return false
}

// cmdDeleteScript deletes a script that is not active (section 2.10).
func (sess *session) cmdDeleteScript(args []arg) bool {
	name := args[0].s
	ctx, cancel := sess.opCtx()
	defer cancel()
	if err := sess.srv.opts.Scripts.DeleteScript(ctx, sess.user, name); err != nil {
		sess.storeFailed(err, name)
		return false
	}
	sess.log.Info("managesieve: script deleted", "script", name)
	sess.ok("Script deleted.")
	return false
}

// cmdRenameScript renames a script, keeping its active state (section 2.11.1).
func (sess *session) cmdRenameScript(args []arg) bool {
	oldName, newName := args[0].s, args[1].s
	if !sess.checkName(newName) {
		return false
	}
	ctx, cancel := sess.opCtx()
	defer cancel()
	if err := sess.srv.opts.Scripts.RenameScript(ctx, sess.user, oldName, newName); err != nil {
		name := oldName
		if errors.Is(err, store.ErrExists) {
			name = newName
		}
		sess.storeFailed(err, name)
		return false
	}
	sess.log.Info("managesieve: script renamed", "script", oldName, "to", newName)
	sess.ok("Script renamed.")
	return false
}
