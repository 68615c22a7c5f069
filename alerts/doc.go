// Package alerts tells the owner about problems by mail: the relay refusing our
// credentials, mail deferred longer than the delay warning, a certificate whose renewal
// is failing, a new finding of the daily doctor run, a nearly full disk.
//
// Sources report what they see now: Observe(source, problems) replaces that source's
// current problems. A problem that was not open is mailed at once; one still open a day
// after its last mail is mailed again (at most one mail per problem per day); a problem
// a source no longer reports gets one "fixed" note and is forgotten. What is open and
// when it was last mailed is kept in a small JSON file (written durably), so a restart
// neither repeats nor forgets an alert.
//
// The Mailer delivers locally (the server's own delivery, to the postmaster alias by
// default), so that alerts arrive when the relay is the problem.
package alerts
