package integration

// migratePy drives both servers the same way: "populate" fills a Dovecot account over
// LMTP, IMAP and ManageSieve; "dump" prints, as JSON, every folder's STATUS and the
// FLAGS of every UID, and the subscribed folders, with '/' as the separator whatever
// the server's is (names stay modified UTF-7, as both send them).
const migratePy = `
import base64, imaplib, json, re, smtplib, socket, ssl, sys

def imap(host, port, user, pw, tls):
    if tls:
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        M = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
    else:
        M = imaplib.IMAP4(host, port)
    M.login(user, pw)
    return M

def msg(subject, body='hello'):
    return ('From: bob@example.org\r\nTo: alice@example.test\r\nSubject: %s\r\n'
            'Message-ID: <%s@example.org>\r\n\r\n%s\r\n' % (subject, subject.replace(' ', '.'), body))

def managesieve(host, port, user, pw, name, script):
    s = socket.create_connection((host, port)); f = s.makefile('rwb')
    def resp():
        while True:
            l = f.readline()
            if not l: raise SystemExit('managesieve: eof')
            if l.startswith((b'OK', b'NO', b'BYE')):
                if not l.startswith(b'OK'): raise SystemExit('managesieve: %r' % l)
                return
    resp()
    tok = base64.b64encode(b'\0' + user.encode() + b'\0' + pw.encode()).decode()
    f.write(('AUTHENTICATE "PLAIN" "%s"\r\n' % tok).encode()); f.flush(); resp()
    b = script.encode()
    f.write(('PUTSCRIPT "%s" {%d+}\r\n' % (name, len(b))).encode() + b + b'\r\n'); f.flush(); resp()
    f.write(('SETACTIVE "%s"\r\n' % name).encode()); f.flush(); resp()
    f.write(b'LOGOUT\r\n'); f.flush()

SCRIPT = 'require "fileinto";\r\nif header :contains "subject" "sorted" { fileinto "Archive"; }\r\n'

def populate(host, imap_port, lmtp_port, sieve_port, user, pw):
    l = smtplib.LMTP(host, lmtp_port)
    for i in range(6):
        l.sendmail('bob@example.org', [user], msg('lmtp %d' % i))
    l.quit()
    M = imap(host, imap_port, user, pw, False)
    for f in ['Lists', 'Lists.golang', '&AMk-t&AOk-', 'Archive', 'Sent', 'Drafts', 'Trash', 'Empty']:
        M.create(f)
    M.create('Gone')
    for f in ['Lists.golang', 'Sent', '&AMk-t&AOk-', 'Archive', 'Gone']:
        M.subscribe(f)
    M.delete('Gone')  # the subscription outlives it
    for i in range(5):
        M.append('Lists.golang', '(\\Seen $Label1 Important)', None, msg('golang %d' % i).encode())
    M.append('Sent', '(\\Seen \\Answered)', None, msg('sent').encode())
    M.append('&AMk-t&AOk-', '(\\Flagged NonJunk)', None, msg('ete').encode())
    M.append('Drafts', '(\\Draft)', None, msg('draft').encode())
    M.select('INBOX')
    M.store('1:2', '+FLAGS', '(\\Seen)')
    M.store('3', '+FLAGS', '(\\Flagged $Forwarded)')
    M.store('4', '+FLAGS', '(\\Deleted)'); M.expunge()
    M.select('Lists.golang')
    M.store('2', '+FLAGS', '(\\Deleted)'); M.expunge()
    M.store('1', '-FLAGS', '(Important)')
    M.logout()
    managesieve(host, sieve_port, user, pw, 'rules', SCRIPT)
    l = smtplib.LMTP(host, lmtp_port)
    l.sendmail('bob@example.org', [user], msg('sorted under dovecot'))
    l.quit()

def unq(s):
    s = s.strip()
    if s.startswith('"'):
        return s[1:-1].replace('\\"', '"').replace('\\\\', '\\')
    return s

def dump(host, port, user, pw, tls):
    M = imap(host, port, user, pw, tls)
    out = {'folders': {}, 'subscribed': []}
    typ, lines = M.list('""', '*')
    names = []
    special = {}
    for l in lines:
        m = re.match(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)") (.*)$', l)
        delim = m.group(2).decode().strip('"')
        name = unq(m.group(3).decode())
        names.append((name, name.replace(delim, '/') if delim not in ('', 'NIL', '/') else name))
        special[name] = ' '.join(sorted(a for a in m.group(1).decode().split()
            if a.lower() in ('\\all', '\\archive', '\\drafts', '\\flagged', '\\junk', '\\sent', '\\trash')))
    # LIST (SUBSCRIBED) (RFC 5258): exactly the subscribed names, each with \Subscribed.
    typ, dat = M._simple_command('LIST', '(SUBSCRIBED)', '""', '"*"')
    typ, lines = M._untagged_response(typ, dat, 'LIST')
    for l in lines or []:
        if not l: continue
        m = re.match(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)") (.*)$', l)
        if b'\\Subscribed' not in m.group(1): continue
        delim = m.group(2).decode().strip('"')
        name = unq(m.group(3).decode())
        out['subscribed'].append(name.replace(delim, '/') if delim not in ('', 'NIL', '/') else name)
    out['subscribed'].sort()
    for name, norm in names:
        typ, st = M.status('"%s"' % name, '(UIDVALIDITY UIDNEXT MESSAGES)')
        s = st[0].decode()
        f = {k.lower(): int(re.search(k + r' (\d+)', s).group(1)) for k in ('UIDVALIDITY', 'UIDNEXT', 'MESSAGES')}
        M.select('"%s"' % name, readonly=True)
        flags = {}
        if f['messages']:
            typ, data = M.uid('FETCH', '1:*', '(FLAGS)')
            for d in data:
                d = d.decode() if isinstance(d, bytes) else d[0].decode()
                uid = re.search(r'UID (\d+)', d).group(1)
                fl = re.search(r'FLAGS \(([^)]*)\)', d).group(1).split()
                flags[uid] = ' '.join(sorted(x for x in fl if x != '\\Recent'))
        f['flags'] = flags
        f['special_use'] = special[name]
        out['folders'][norm] = f
    M.logout()
    print(json.dumps(out, sort_keys=True))

if sys.argv[1] == 'populate':
    populate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7])
    print('{}')
else:
    dump(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] == '1')
`
