package main

// rootCommand is the command table. Order here is the order of help and docs/cli.md.
func rootCommand() *command {
	return &command{
		name:    "postern",
		summary: "the whole mail server of a home server in one binary",
		help: `Every command except serve, config and version talks to the running daemon
over its admin socket, which it finds through the config file.`,
		subs: []*command{
			serveCommand(),
			initCommand(),
			configCommand(),
			statusCommand(),
			domainCommand(),
			userCommand(),
			aliasCommand(),
			sieveCommand(),
			mailboxCommand(),
			reindexCommand(),
			whoCommand(),
			kickCommand(),
			importCommand(),
			exportCommand(),
			backupCommand(),
			restoreCommand(),
			dnsCommand(),
			dkimCommand(),
			queueCommand(),
			relayCommand(),
			doctorCommand(),
			traceCommand(),
			sendmailCommand(),
			mailqCommand(),
			versionCommand(),
			helpCommand(),
		},
	}
}
