package imap

// QuotaResourceType is a QUOTA resource type.
//
// See RFC 9208 section 5.
type QuotaResourceType string

const (
	QuotaResourceStorage           QuotaResourceType = "STORAGE"
	QuotaResourceMessage           QuotaResourceType = "MESSAGE"
	QuotaResourceMailbox           QuotaResourceType = "MAILBOX"
	QuotaResourceAnnotationStorage QuotaResourceType = "ANNOTATION-STORAGE"
)

// QuotaResource is one resource of a quota root: its usage and limit, in the
// resource's units (STORAGE: units of 1024 octets; MESSAGE: messages).
//
// Postern: added with the server side of RFC 9208.
type QuotaResource struct {
	Type  QuotaResourceType
	Usage int64
	Limit int64
}

// QuotaData is a QUOTA response: a quota root and its resources.
type QuotaData struct {
	Root      string
	Resources []QuotaResource
}
