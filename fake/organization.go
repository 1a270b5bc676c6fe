package fake

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"golang.org/x/time/rate"
)

// ManagementAccessKeyID is the access key ID of the management account's
// user in an [Organization]: requests signed with it act as that user, and
// the STS and Organizations fakes the Organization returns call as it. It
// is the key of [Server.Config] and [InMemoryConfig]; any secret key goes,
// since signatures are not verified.
const ManagementAccessKeyID = "test"

// defaultOrganizationID is the ID of an Organization made without one.
const defaultOrganizationID = "o-exampleorgid"

// OrganizationOptions configures an Organization.
type OrganizationOptions struct {
	// ID is the organisation's ID: "o-" and 10 to 32 lower-case letters or
	// digits. NewOrganization pre-fills it with "o-exampleorgid".
	ID string

	// ManagementAccountID is the ID of the management account, 12 digits.
	// NewOrganization pre-fills it with [AccountID], the account of a fake
	// made with New.
	ManagementAccountID string

	// Management configures the management account as AddAccount's
	// options configure the others. NewOrganization pre-fills its Name with
	// "management".
	Management AccountOptions

	// EC2 configures the EC2 fake of every account/Region, after New's
	// defaults (ApplyDelay, Buckets...), as New's option functions do.
	// Each EC2 has buckets of its own: throttling one never throttles
	// another.
	EC2 func(*Options)

	// CloudWatch configures the CloudWatch fake of every account/Region,
	// tied to its EC2 (see [CloudWatchOptions.EC2]), as NewCloudWatch's
	// option functions do.
	CloudWatch func(*CloudWatchOptions)

	// STSRequests is the token bucket of STS requests of each caller's
	// account: every AssumeRole and GetCallerIdentity takes a token, and a
	// call that finds none is answered Throttling (HTTP 400, "Rate
	// exceeded"), as STS answers. A Size of 0, the default, turns STS
	// throttling off. The quotas of STS are not modelled; set the bucket a
	// test needs.
	STSRequests Bucket
}

// AccountOptions configures an account of an Organization.
type AccountOptions struct {
	// Name is the account's name, which ListAccounts answers; "account-ID"
	// when empty.
	Name string

	// Email is the account's email address; ID@example.com when empty.
	Email string

	// OptInRegions are the Regions that need opting into (af-south-1,
	// ap-east-1...; see [IsRegion]) that are enabled for the account. The
	// Regions AWS enables in every account (us-east-1, eu-west-1...) are
	// always enabled and must not be listed.
	OptInRegions []string
}

// RoleOptions configures a role that [Account.CreateRole] creates.
type RoleOptions struct {
	// ExternalID, when set, is the external ID the role's trust policy
	// requires: AssumeRole must give it as ExternalId, or is denied.
	ExternalID string

	// MaxSessionDuration is the longest session AssumeRole may ask for, 1
	// to 12 hours. CreateRole pre-fills it with 1 hour, IAM's default.
	MaxSessionDuration time.Duration
}

// Organization is an in-memory model of an AWS organisation for tests: a
// management account and member accounts, the Regions enabled for each,
// and in every account/Region an [EC2] fake of its own, with its own token
// buckets and the account's ID as OwnerId, a [CloudWatch] tied to it and
// an [AutoScaling] that launches into it ([Region]). Roles created in the
// accounts ([Account.CreateRole]) can be assumed with the [STS] fake,
// whose credentials reach the account; the [Organizations] fake lists the
// accounts. Served with [NewHandler] and HandlerOptions.Organization, one
// endpoint routes each request to its account and Region by its signature,
// so the real SDK, stscreds included, reaches every account/Region.
//
// An Organization reads the clock with time.Now when it is called (the
// expiry of credentials) and starts no goroutines, so it works inside a
// testing/synctest bubble. It is safe for concurrent use; create it with
// NewOrganization.
type Organization struct {
	mu       sync.Mutex
	opts     OrganizationOptions
	mgmt     *Account
	user     *session            // the management account's user: never changes
	accounts map[string]*Account // every account ever added, removed ones included
	order    []*Account          // the accounts in the organisation, in the order added
	seq      int64               // orders the accounts

	keys     map[string]*session // by access key ID
	nextKey  uint64
	nextRole uint64

	sts, orgs apiState
	stsLimits map[string]*rate.Limiter // by caller account
}

// apiState is the FailNext queue and the call counts of a service's
// operations.
type apiState struct {
	calls     map[string]int
	faults    map[string][]fault
	throttled map[string]int
	empty     int // ListAccounts pages to answer empty (Organizations only)
}

func newAPIState() apiState {
	return apiState{calls: map[string]int{}, faults: map[string][]fault{}, throttled: map[string]int{}}
}

// begin counts a call of op and answers its injected fault, if any.
func (s *apiState) begin(service, op string) error {
	s.calls[op]++
	if q := s.faults[op]; len(q) > 0 {
		err := q[0].err
		if q[0].n--; q[0].n <= 0 {
			s.faults[op] = q[1:]
		}
		return wrapService(service, op, err)
	}
	return nil
}

func (s *apiState) failNext(op string, n int, err error) {
	if n > 0 {
		s.faults[op] = append(s.faults[op], fault{n: n, err: err})
	}
}

// accountState is where an account is in its life.
type accountState int

const (
	accountActive    accountState = iota
	accountSuspended              // SuspendAccount: listed SUSPENDED, unreachable
	accountRemoved                // RemoveAccount: left the organisation and closed
)

// Account is an account of an [Organization]. Its methods are safe for
// concurrent use. Get one from [Organization.AddAccount],
// [Organization.Account] or [Organization.Management].
type Account struct {
	org    *Organization
	id     string
	seq    int64
	name   string
	email  string
	joined time.Time
	method string // how it joined: CREATED or INVITED

	// Guarded by org.mu.
	state   accountState
	optIn   []string
	regions map[string]*Region // created on first use
	roles   map[string]*role
}

// role is a role of an account.
type role struct {
	id   string // AROA and 16 letters or digits
	opts RoleOptions
}

// Region is one Region of an account of an [Organization]: its EC2,
// CloudWatch and AutoScaling fakes. The CloudWatch is tied to the EC2
// (see [CloudWatchOptions.EC2]) and the AutoScaling launches into it.
type Region struct {
	account *Account
	name    string
	ec2     *EC2
	cw      *CloudWatch
	as      *AutoScaling
}

// Name returns the Region's name, such as "eu-west-1".
func (r *Region) Name() string { return r.name }

// AccountID returns the ID of the Region's account.
func (r *Region) AccountID() string { return r.account.id }

// EC2 returns the account/Region's EC2 fake. Seed it with [EC2.Launch].
func (r *Region) EC2() *EC2 { return r.ec2 }

// CloudWatch returns the account/Region's CloudWatch fake, tied to its EC2.
func (r *Region) CloudWatch() *CloudWatch { return r.cw }

// AutoScaling returns the account/Region's AutoScaling fake, which launches
// into its EC2.
func (r *Region) AutoScaling() *AutoScaling { return r.as }

// session is a principal that calls with an access key: the management
// account's user, or a role session AssumeRole made.
type session struct {
	key     string // the access key ID
	token   string // the session token: empty for the user's key
	account *Account
	arn     string // the caller's ARN, as GetCallerIdentity answers it
	userID  string
	role    string    // the role assumed, or empty for the user
	expires time.Time // zero for the user's key, which never expires
}

var (
	organizationIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	roleNamePattern       = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// NewOrganization returns an organisation of one account, the management
// account, with the Regions AWS enables by default and the opt-in Regions
// of OrganizationOptions.Management. It returns an error when an option
// breaks a rule of its documentation.
func NewOrganization(optFns ...func(*OrganizationOptions)) (*Organization, error) {
	opts := OrganizationOptions{ID: defaultOrganizationID, ManagementAccountID: AccountID, Management: AccountOptions{Name: "management"}}
	for _, fn := range optFns {
		if fn != nil {
			fn(&opts)
		}
	}
	if !organizationIDPattern.MatchString(opts.ID) {
		return nil, fmt.Errorf("fake: NewOrganization: ID %q: must be o- and 10 to 32 lower-case letters or digits", opts.ID)
	}
	o := &Organization{
		opts:      opts,
		accounts:  map[string]*Account{},
		keys:      map[string]*session{},
		sts:       newAPIState(),
		orgs:      newAPIState(),
		stsLimits: map[string]*rate.Limiter{},
	}
	// How ListAccounts says the management account joined is unverified.
	mgmt, err := o.add("NewOrganization", opts.ManagementAccountID, opts.Management, "INVITED")
	if err != nil {
		return nil, err
	}
	o.mgmt = mgmt
	o.user = &session{
		key:     ManagementAccessKeyID,
		account: mgmt,
		arn:     "arn:aws:iam::" + mgmt.id + ":user/" + ManagementAccessKeyID,
		userID:  "AIDA" + keyDigits(0),
	}
	o.keys[ManagementAccessKeyID] = o.user
	return o, nil
}

// ID returns the organisation's ID.
func (o *Organization) ID() string { return o.opts.ID }

// Management returns the management account.
func (o *Organization) Management() *Account { return o.mgmt }

// AddAccount adds a member account with ID id (12 digits, not yet in the
// organisation) and returns it. It is ACTIVE, with the Regions AWS enables
// by default and the opt-in Regions of AccountOptions.OptInRegions, and no
// roles. It returns an error when id or an option breaks a rule of its
// documentation.
func (o *Organization) AddAccount(id string, optFns ...func(*AccountOptions)) (*Account, error) {
	var opts AccountOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&opts)
		}
	}
	return o.add("AddAccount", id, opts, "CREATED")
}

func (o *Organization) add(caller, id string, opts AccountOptions, method string) (*Account, error) {
	if !awsid.IsAccountID(id) {
		return nil, fmt.Errorf("fake: %s: account ID %q: must be 12 digits", caller, id)
	}
	if opts.Email == "" {
		opts.Email = id + "@example.com"
	}
	if opts.Name == "" {
		opts.Name = "account-" + id
	}
	optIn := make([]string, 0, len(opts.OptInRegions))
	for _, r := range opts.OptInRegions {
		switch {
		case !IsRegion(r):
			return nil, fmt.Errorf("fake: %s: account %s: OptInRegions: %q is not a Region of the aws partition", caller, id, r)
		case !isOptInRegion(r):
			return nil, fmt.Errorf("fake: %s: account %s: OptInRegions: %s is enabled in every account; list only Regions that need opting into", caller, id, r)
		case slices.Contains(optIn, r):
			return nil, fmt.Errorf("fake: %s: account %s: OptInRegions: %s is listed twice", caller, id, r)
		}
		optIn = append(optIn, r)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts[id] != nil {
		return nil, fmt.Errorf("fake: %s: account %s is already in the organisation, or was", caller, id)
	}
	o.seq++
	a := &Account{
		org: o, id: id, seq: o.seq, name: opts.Name, email: opts.Email, joined: time.Now(), method: method,
		optIn: optIn, regions: map[string]*Region{}, roles: map[string]*role{},
	}
	o.accounts[id] = a
	o.order = append(o.order, a)
	return a, nil
}

// Account returns the account id of the organisation, or nil when it has
// none of that ID (removed accounts included).
func (o *Organization) Account(id string) *Account {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a := o.accounts[id]; a != nil && a.state != accountRemoved {
		return a
	}
	return nil
}

// Accounts returns the organisation's accounts, the management account
// first, in the order they were added; suspended accounts are included,
// removed ones are not.
func (o *Organization) Accounts() []*Account {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.order)
}

// SuspendAccount suspends the member account id: ListAccounts lists it
// with Status and State SUSPENDED, AssumeRole into it is denied, and the
// credentials of its sessions are no longer accepted (see the package
// documentation for the errors). It returns an error for the management
// account and for an account not in the organisation.
func (o *Organization) SuspendAccount(id string) error {
	return o.setState("SuspendAccount", id, accountSuspended)
}

// RemoveAccount removes the member account id from the organisation, as a
// test's stand-in for an account closed while work on it is under way:
// ListAccounts no longer lists it, AssumeRole into it is denied, and the
// credentials of its sessions are no longer accepted, by every service (see
// the package documentation for the errors; that a closed account's
// credentials fail at once is unverified and conservative). It returns an
// error for the management account and for an account not in the
// organisation.
func (o *Organization) RemoveAccount(id string) error {
	return o.setState("RemoveAccount", id, accountRemoved)
}

func (o *Organization) setState(caller, id string, s accountState) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.accounts[id]
	switch {
	case a == nil || a.state == accountRemoved:
		return fmt.Errorf("fake: %s: account %s is not in the organisation", caller, id)
	case a == o.mgmt:
		return fmt.Errorf("fake: %s: account %s is the management account, which cannot leave or be suspended", caller, id)
	}
	a.state = s
	if s == accountRemoved {
		o.order = slices.DeleteFunc(o.order, func(b *Account) bool { return b == a })
	}
	return nil
}

// ID returns the account's ID.
func (a *Account) ID() string { return a.id }

// Name returns the account's name.
func (a *Account) Name() string { return a.name }

// CreateRole creates the role name in the account, which the management
// account trusts: [STS.AssumeRole] of arn:aws:iam::ID:role/NAME by a
// caller of the management account succeeds (with the role's ExternalID,
// when it has one), by any other caller it is denied. name is 1 to 64
// letters, digits and + = , . @ _ -, and unused in the account. It
// returns an error when name or an option breaks a rule of its
// documentation.
func (a *Account) CreateRole(name string, optFns ...func(*RoleOptions)) error {
	opts := RoleOptions{MaxSessionDuration: time.Hour}
	for _, fn := range optFns {
		if fn != nil {
			fn(&opts)
		}
	}
	switch {
	case !roleNamePattern.MatchString(name):
		return fmt.Errorf("fake: CreateRole: name %q: must be 1 to 64 letters, digits and +=,.@_-", name)
	case opts.MaxSessionDuration < time.Hour || opts.MaxSessionDuration > 12*time.Hour:
		return fmt.Errorf("fake: CreateRole: MaxSessionDuration %v: must be 1h to 12h", opts.MaxSessionDuration)
	case opts.ExternalID != "" && !validExternalID(opts.ExternalID):
		return fmt.Errorf("fake: CreateRole: ExternalID %q: must be 2 to 1224 letters, digits and +=,.@:/_-", opts.ExternalID)
	}
	a.org.mu.Lock()
	defer a.org.mu.Unlock()
	if _, ok := a.roles[name]; ok {
		return fmt.Errorf("fake: CreateRole: account %s already has a role named %s", a.id, name)
	}
	a.org.nextRole++
	a.roles[name] = &role{id: "AROA" + keyDigits(a.org.nextRole), opts: opts}
	return nil
}

// Region returns the account's services in Region name, or an error when
// name is not a Region the fakes know (see [IsRegion]) or not enabled for
// the account. The services are created on first use, with
// OrganizationOptions.EC2.
func (a *Account) Region(name string) (*Region, error) {
	a.org.mu.Lock()
	defer a.org.mu.Unlock()
	r := a.region(name)
	if r == nil {
		if !IsRegion(name) {
			return nil, fmt.Errorf("fake: account %s: %q is not a Region of the aws partition", a.id, name)
		}
		return nil, fmt.Errorf("fake: account %s: Region %s is not enabled (it needs opting into: see AccountOptions.OptInRegions)", a.id, name)
	}
	return r, nil
}

// Regions returns the account's services in every Region enabled for it,
// in name order.
func (a *Account) Regions() []*Region {
	a.org.mu.Lock()
	defer a.org.mu.Unlock()
	var rs []*Region
	for _, name := range allRegions {
		if r := a.region(name); r != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

// region returns the account's services in Region name, creating them,
// or nil when name is not enabled. a.org.mu must be held.
func (a *Account) region(name string) *Region {
	if r := a.regions[name]; r != nil {
		return r
	}
	if !IsRegion(name) || isOptInRegion(name) && !slices.Contains(a.optIn, name) {
		return nil
	}
	f := newEC2(a.id, name, a, a.org.opts.EC2)
	r := &Region{account: a, name: name, ec2: f,
		cw: NewCloudWatch(func(o *CloudWatchOptions) {
			if a.org.opts.CloudWatch != nil {
				a.org.opts.CloudWatch(o)
			}
			o.EC2 = f
		}), as: NewAutoScaling(f)}
	a.regions[name] = r
	return r
}

// optInRegions returns the opt-in Regions enabled for the account.
func (a *Account) optInRegions() []string {
	a.org.mu.Lock()
	defer a.org.mu.Unlock()
	return slices.Clone(a.optIn)
}

// caller returns the principal of access key id with session token token
// at now. A role session's key is valid only with its session token, and
// the management user's only without one, as AWS requires of temporary
// and long-term credentials.
func (o *Organization) caller(id, token string, now time.Time) (*session, authFailure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.callerLocked(id, token, now)
}

func (o *Organization) callerLocked(id, token string, now time.Time) (*session, authFailure) {
	s := o.keys[id]
	switch {
	case s == nil || s.account.state != accountActive || s.token != token:
		return nil, authUnknownKey
	case !s.expires.IsZero() && !now.Before(s.expires):
		return nil, authExpired
	}
	return s, 0
}

// target returns the services a caller reaches in Region name.
func (o *Organization) target(s *session, name string) (*Region, authFailure) {
	if !IsRegion(name) {
		return nil, authBadRegion
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := s.account.region(name)
	if r == nil {
		return nil, authNotEnabled
	}
	return r, 0
}

// Resolve returns the services that a request signed with creds for
// Region region reaches, as the handler routes it: the Region of the
// account of creds.AccessKeyID (the management account for
// ManagementAccessKeyID, the role's account for a key AssumeRole
// answered, which is valid only with its creds.SessionToken). Where the
// handler answers an error instead, Resolve returns the error EC2
// answers, shaped as the SDK returns it (see the package documentation):
// AuthFailure (HTTP 401) for an unknown key or a wrong session token, the
// key of an account suspended or removed, or a Region not enabled for the
// account; RequestExpired (HTTP 400) for expired credentials. It lets
// tests that call the fakes directly reach the account/Region that
// credentials obtained from [STS.AssumeRole] name; the other members of
// creds are not read.
func (o *Organization) Resolve(creds aws.Credentials, region string) (*Region, error) {
	s, why := o.caller(creds.AccessKeyID, creds.SessionToken, time.Now())
	if why == 0 {
		var r *Region
		if r, why = o.target(s, region); why == 0 {
			return r, nil
		}
	}
	a := ec2Auth.answer(why)
	return nil, NewAPIError(a.status, a.code, a.message)
}

// Keys the fake STS mints: AWS's temporary access key IDs are ASIA and 16
// upper-case letters or digits.
func (o *Organization) mintKey() string {
	o.nextKey++
	return "ASIA" + keyDigits(o.nextKey)
}

// keyDigits spells n as 16 upper-case letters and digits.
func keyDigits(n uint64) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [16]byte
	for i := range b {
		b[len(b)-1-i] = alphabet[n%32]
		n /= 32
	}
	return string(b[:])
}
