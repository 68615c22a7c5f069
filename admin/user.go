package admin

import "context"

const (
	cmdUserAdd     = "user.add"
	cmdUserList    = "user.list"
	cmdUserRemove  = "user.remove"
	cmdUserPasswd  = "user.passwd"
	cmdUserDisable = "user.disable"
	cmdUserEnable  = "user.enable"
	cmdUserQuota   = "user.quota"
	cmdUserShow    = "user.show"
)

type addressArgs struct {
	Address string `json:"address"`
}

type userListArgs struct {
	Domain string `json:"domain,omitempty"`
}

type passwdArgs struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}

type quotaArgs struct {
	Address    string `json:"address"`
	QuotaBytes int64  `json:"quota_bytes"`
}

func userCommands() map[string]handler {
	return map[string]handler{
		cmdUserAdd:     bind(addUser),
		cmdUserList:    bind(listUsers),
		cmdUserRemove:  bind(removeUser),
		cmdUserPasswd:  bind(setPassword),
		cmdUserDisable: bind(setDisabled(true)),
		cmdUserEnable:  bind(setDisabled(false)),
		cmdUserQuota:   bind(setQuota),
		cmdUserShow:    bind(showUser),
	}
}

func addUser(ctx context.Context, b Backend, a NewUser) (User, error) {
	if err := need("address", a.Address); err != nil {
		return User{}, err
	}
	if err := need("password", a.Password); err != nil {
		return User{}, err
	}
	if a.QuotaBytes < 0 {
		return User{}, Errorf(CodeInvalid, "", "quota must not be negative")
	}
	return b.AddUser(ctx, a)
}

func listUsers(ctx context.Context, b Backend, a userListArgs) ([]User, error) {
	us, err := b.ListUsers(ctx, a.Domain)
	return nonNil(us), err
}

func showUser(ctx context.Context, b Backend, a addressArgs) (User, error) {
	if err := need("address", a.Address); err != nil {
		return User{}, err
	}
	return b.GetUser(ctx, a.Address)
}

func removeUser(ctx context.Context, b Backend, a addressArgs) (empty, error) {
	if err := need("address", a.Address); err != nil {
		return empty{}, err
	}
	return empty{}, b.RemoveUser(ctx, a.Address)
}

func setPassword(ctx context.Context, b Backend, a passwdArgs) (empty, error) {
	if err := need("address", a.Address); err != nil {
		return empty{}, err
	}
	if err := need("password", a.Password); err != nil {
		return empty{}, err
	}
	return empty{}, b.SetPassword(ctx, a.Address, a.Password)
}

func setDisabled(disabled bool) func(context.Context, Backend, addressArgs) (empty, error) {
	return func(ctx context.Context, b Backend, a addressArgs) (empty, error) {
		if err := need("address", a.Address); err != nil {
			return empty{}, err
		}
		return empty{}, b.SetDisabled(ctx, a.Address, disabled)
	}
}

func setQuota(ctx context.Context, b Backend, a quotaArgs) (empty, error) {
	if err := need("address", a.Address); err != nil {
		return empty{}, err
	}
	if a.QuotaBytes < 0 {
		return empty{}, Errorf(CodeInvalid, "", "quota must not be negative")
	}
	return empty{}, b.SetQuota(ctx, a.Address, a.QuotaBytes)
}

// AddUser creates a user in an existing domain.
func (c *Client) AddUser(ctx context.Context, u NewUser) (User, error) {
	var out User
	err := c.call(ctx, cmdUserAdd, u, &out)
	return out, err
}

// ListUsers lists the users of domain, or of every domain when domain is "".
func (c *Client) ListUsers(ctx context.Context, domain string) ([]User, error) {
	var us []User
	err := c.call(ctx, cmdUserList, userListArgs{Domain: domain}, &us)
	return us, err
}

// GetUser returns one user, with its usage next to its quota.
func (c *Client) GetUser(ctx context.Context, address string) (User, error) {
	var u User
	err := c.call(ctx, cmdUserShow, addressArgs{Address: address}, &u)
	return u, err
}

// RemoveUser removes a user and its app passwords (not its Maildir).
func (c *Client) RemoveUser(ctx context.Context, address string) error {
	return c.call(ctx, cmdUserRemove, addressArgs{Address: address}, nil)
}

// SetPassword replaces a user's password.
func (c *Client) SetPassword(ctx context.Context, address, password string) error {
	return c.call(ctx, cmdUserPasswd, passwdArgs{Address: address, Password: password}, nil)
}

// SetDisabled disables (true) or re-enables (false) a user's logins.
func (c *Client) SetDisabled(ctx context.Context, address string, disabled bool) error {
	cmd := cmdUserEnable
	if disabled {
		cmd = cmdUserDisable
	}
	return c.call(ctx, cmd, addressArgs{Address: address}, nil)
}

// SetQuota sets a user's quota in bytes; 0 means unlimited.
func (c *Client) SetQuota(ctx context.Context, address string, quotaBytes int64) error {
	return c.call(ctx, cmdUserQuota, quotaArgs{Address: address, QuotaBytes: quotaBytes}, nil)
}
