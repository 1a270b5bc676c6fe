package org

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// Finding the targets: the accounts (the caller's own, those of role ARNs,
// or every active account of the organisation, each reached through a role
// assumed with the SDK's stscreds) and the Regions of each (named, or every
// Region enabled for the account).

// RoleARN is the ARN of an IAM role, taken apart:
// arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
type RoleARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov"...
	Account   string // 12 digits
	Path      string // "/" or "/PATH/"
	Name      string
}

// String returns the ARN.
func (r RoleARN) String() string {
	return "arn:" + r.Partition + ":iam::" + r.Account + ":role" + r.Path + r.Name
}

// The rules of IAM and STS for the parts of a role's ARN and a role
// session.
var (
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathPattern    = regexp.MustCompile(`^/([\x21-\x7e]+/)?$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

const (
	roleNameRule    = "must be 1 to 64 letters, digits and + = , . @ _ - (an IAM role's name)"
	roleARNRule     = "must be an IAM role's ARN, arn:PARTITION:iam::ACCOUNT:role/NAME (ACCOUNT 12 digits, NAME 1 to 64 letters, digits and + = , . @ _ -, at most 2048 characters)"
	maxRoleARN      = 2048 // STS's bound of RoleArn
	maxRolePath     = 512  // IAM's bound of a path
	maxExternalID   = 1224 // STS's bound of an external ID
	sessionNameRule = "must be 2 to 64 letters, digits and + = , . @ _ -"
	externalIDRule  = "must be 2 to 1224 letters, digits and + = , . @ : / _ -"
)

// ParseRoleARN takes an IAM role's ARN apart and checks it by IAM's and
// STS's rules: arn:PARTITION:iam::ACCOUNT:role/NAME or
// arn:PARTITION:iam::ACCOUNT:role/PATH/NAME, with an account ID of 12
// digits, a name of 1 to 64 letters, digits and +=,.@_-, a path of at most
// 512 printable characters, at most 2048 characters in all. Anything else
// is an error matching ErrInvalid that names the value and the rule.
func ParseRoleARN(s string) (RoleARN, error) {
	bad := &imdsopts.ValidationError{Field: "RoleArn", Value: check.Quote(s), Rule: roleARNRule}
	parts := strings.SplitN(s, ":", 6)
	if len(s) > maxRoleARN || len(parts) != 6 || parts[0] != "arn" || !awsid.IsPartition(parts[1]) ||
		parts[2] != "iam" || parts[3] != "" || !awsid.IsAccountID(parts[4]) || !strings.HasPrefix(parts[5], "role/") {
		return RoleARN{}, bad
	}
	resource := strings.TrimPrefix(parts[5], "role")
	cut := strings.LastIndexByte(resource, '/')
	r := RoleARN{Partition: parts[1], Account: parts[4], Path: resource[:cut+1], Name: resource[cut+1:]}
	if !roleNamePattern.MatchString(r.Name) || len(r.Path) > maxRolePath || !rolePathPattern.MatchString(r.Path) {
		return RoleARN{}, bad
	}
	return r, nil
}

// Defaults of [DiscoverOptions].
const (
	// DefaultRoleSessionName names the sessions of the roles assumed: it is
	// what CloudTrail shows of the calls made with them.
	DefaultRoleSessionName = "imdsopts"
	// DefaultMaxAccounts bounds the listing of the organisation's accounts:
	// far more than most organisations have, and a bound on a listing
	// that would not end.
	DefaultMaxAccounts = 10000
)

// maxEmptyPages bounds the empty pages with a NextToken that a listing of
// the organisation's accounts may answer (Organizations documents that it
// can); a listing that answers more is an error.
const maxEmptyPages = 100

// roleCredentialsExpiryWindow is how long before they expire the
// credentials of an assumed role are refreshed, so that no request is
// signed with credentials that expire on its way.
const roleCredentialsExpiryWindow = time.Minute

// DiscoverOptions configures [Discover]: the accounts and Regions to
// work in. Its fields hold their defaults before the caller's functions run.
type DiscoverOptions struct {
	// Regions are the Regions to work in, the same in every account.
	// Without Regions or AllRegions, it is the Region of the configuration.
	Regions []string
	// AllRegions works in every Region enabled for each account
	// (DescribeRegions, with the account's credentials, in the Region of
	// the configuration): Regions that need opting into and are not
	// enabled are not targets.
	AllRegions bool

	// RoleARNs are roles to assume, one for each account to work in: the
	// accounts are theirs.
	RoleARNs []string
	// OrganizationRole is the name of a role to assume in every ACTIVE
	// account of the organisation, as the configuration's credentials list
	// them (Organizations ListAccounts, from the management account or a
	// delegated administrator): arn:PARTITION:iam::ACCOUNT:role/NAME, with
	// the partition of the account's ARN. The management account is one of
	// them, and needs the role too.
	//
	// Without RoleARNs or OrganizationRole, the one account is the
	// caller's own (STS GetCallerIdentity), with the configuration's
	// credentials.
	OrganizationRole string
	// ExternalID is the external ID the roles' trust policies require, if
	// any; RoleSessionName names the sessions (default
	// DefaultRoleSessionName).
	ExternalID      string
	RoleSessionName string
	// MaxAccounts bounds the accounts the organisation's listing may
	// answer (default DefaultMaxAccounts): a longer listing is an error,
	// never cut short.
	MaxAccounts int
	// Concurrency bounds the accounts whose Regions are listed at once
	// (default DefaultConcurrency).
	Concurrency int
}

// Validate reports every option that breaks a rule, each as a
// *ValidationError matching ErrInvalid: Regions that are not Region names
// or are named twice, or given with AllRegions; role ARNs that ParseRoleARN
// refuses, two of one account, or given with OrganizationRole; a role name,
// external ID or session name that IAM and STS would refuse; an external
// ID without roles; MaxAccounts or Concurrency below 1. Discover
// calls it before any call.
func (o *DiscoverOptions) Validate() error {
	if o == nil {
		return liberr.Misuse("DiscoverOptions", "nil", "must be options to check")
	}
	var errs []error
	bad := func(field, value, rule string) {
		errs = append(errs, &imdsopts.ValidationError{Field: "DiscoverOptions." + field, Value: value, Rule: rule})
	}
	if o.AllRegions && len(o.Regions) > 0 {
		bad("Regions", check.Quote(strings.Join(o.Regions, ",")), "must not be given with AllRegions")
	}
	// Each distinct value is judged once: one given 10,000 times is one
	// error, that says how often.
	for _, oc := range occurrences(o.Regions) {
		switch r := oc.v; {
		case !awsid.IsRegion(r):
			bad(fmt.Sprintf("Regions[%d]", oc.first), check.Quote(r), `must be an AWS Region, such as "eu-west-1"`+given(oc.n, 1))
		case oc.n > 1:
			bad(fmt.Sprintf("Regions[%d]", oc.second), check.Quote(r), "must not be named twice"+given(oc.n, 2))
		}
	}
	if o.OrganizationRole != "" && len(o.RoleARNs) > 0 {
		bad("RoleARNs", fmt.Sprintf("(%d roles)", len(o.RoleARNs)), "must not be given with OrganizationRole")
	}
	owner := map[string]string{}
	for _, oc := range occurrences(o.RoleARNs) {
		i, s := oc.first, oc.v
		r, err := ParseRoleARN(s)
		var ve *imdsopts.ValidationError
		switch {
		case errors.As(err, &ve):
			bad(fmt.Sprintf("RoleARNs[%d]", i), ve.Value, ve.Rule+given(oc.n, 1))
		case owner[r.Account] != "":
			bad(fmt.Sprintf("RoleARNs[%d]", i), check.Quote(s), "must not be a second role of account "+r.Account+" (the first: "+owner[r.Account]+"): one role an account"+given(oc.n, 1))
		case oc.n > 1:
			owner[r.Account] = s
			bad(fmt.Sprintf("RoleARNs[%d]", oc.second), check.Quote(s), "must not be named twice"+given(oc.n, 2))
		default:
			owner[r.Account] = s
		}
	}
	if o.OrganizationRole != "" && !roleNamePattern.MatchString(o.OrganizationRole) {
		bad("OrganizationRole", check.Quote(o.OrganizationRole), roleNameRule)
	}
	if o.ExternalID != "" {
		if len(o.ExternalID) < 2 || len(o.ExternalID) > maxExternalID || !externalIDPattern.MatchString(o.ExternalID) {
			// The value is a shared secret of sorts: not repeated.
			bad("ExternalID", fmt.Sprintf("(%d characters)", len(o.ExternalID)), externalIDRule)
		}
		if len(o.RoleARNs) == 0 && o.OrganizationRole == "" {
			bad("ExternalID", "(set)", "must be given with RoleARNs or OrganizationRole: no role is assumed without them")
		}
	}
	if !sessionNamePattern.MatchString(o.RoleSessionName) {
		bad("RoleSessionName", check.Quote(o.RoleSessionName), sessionNameRule)
	}
	if o.MaxAccounts < 1 {
		bad("MaxAccounts", fmt.Sprint(o.MaxAccounts), "must be at least 1")
	}
	if o.Concurrency < 1 {
		bad("Concurrency", fmt.Sprint(o.Concurrency), "must be at least 1")
	}
	return errors.Join(errs...)
}

// Discover finds the targets that DiscoverOptions describe, from
// cfg, the caller's configuration (its credentials, and its Region, where
// STS, Organizations and DescribeRegions are called), and returns them with
// the ClientsFunc that reaches each: clients made from cfg with NewClients,
// in the target's Region, with the credentials of its account. Those of an
// account reached through a role come from stscreds.NewAssumeRoleProvider,
// with the external ID and session name of the options, in an
// aws.NewCredentialsCache: one for each role, shared by the account's
// Regions, cached and refreshed by the SDK. Credentials are never logged or
// put in a result.
//
// With named Regions and RoleARNs, no call is made. Otherwise the calls
// are the SDK's, with its retries: GetCallerIdentity for the caller's own
// account, ListAccounts (every page, at most MaxAccounts accounts and
// 100 empty pages) for the organisation, and DescribeRegions in
// each account for AllRegions. A listing of the organisation that fails or
// does not end, or a caller's identity that cannot be read, is an error
// with no targets: a partial list would leave accounts out unnoticed. An
// account whose
// Regions cannot be listed (its role cannot be assumed, access is denied)
// is in TargetSet.Unreached with the error, and the others go on; a role
// that cannot be assumed with named Regions fails each of its targets when
// they are worked on.
//
// Options that Validate refuses, a nil ctx, or cfg without credentials or
// a Region, are an error matching ErrInvalid, before any call.
func Discover(ctx context.Context, cfg aws.Config, optFns ...func(*DiscoverOptions)) (*TargetSet, error) {
	o := DiscoverOptions{RoleSessionName: DefaultRoleSessionName, MaxAccounts: DefaultMaxAccounts, Concurrency: fleet.DefaultConcurrency}
	errs := []error{liberr.Ctx(ctx)}
	for i, fn := range optFns {
		if fn == nil {
			errs = append(errs, liberr.Misuse(fmt.Sprintf("DiscoverOptions function %d", i+1), "nil", "must not be nil"))
			continue
		}
		fn(&o)
	}
	errs = append(errs, o.Validate())
	if !awsid.IsRegion(cfg.Region) {
		errs = append(errs, &imdsopts.ValidationError{Field: "aws.Config.Region", Value: check.Quote(cfg.Region), Rule: "must be the AWS Region to call STS, Organizations and DescribeRegions in"})
	}
	if check.IsNil(cfg.Credentials) {
		errs = append(errs, liberr.Misuse("aws.Config.Credentials", "nil", "must be the caller's credentials"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d := &discovery{cfg: cfg, o: &o, creds: map[string]aws.CredentialsProvider{}}
	accounts, err := d.accounts(ctx)
	if err != nil {
		return nil, err
	}
	ts := &TargetSet{Clients: d.clients, Unreached: d.unreached}
	regions := map[string][]string{}
	switch {
	case o.AllRegions:
		regions = d.regions(ctx, accounts)
		ts.Unreached = d.unreached
	case len(o.Regions) > 0:
		for _, a := range accounts {
			regions[a] = o.Regions
		}
	default:
		for _, a := range accounts {
			regions[a] = []string{cfg.Region}
		}
	}
	for _, a := range accounts {
		for _, r := range regions[a] {
			ts.Targets = append(ts.Targets, account.Target{Account: a, Region: r})
		}
	}
	slices.SortFunc(ts.Targets, account.Target.Compare)
	slices.SortFunc(ts.Unreached, func(a, b *TargetError) int { return a.Target.Compare(b.Target) })
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("imdsopts: discover targets: %w", context.Cause(ctx))
	}
	return ts, nil
}

// discovery is one run of Discover.
type discovery struct {
	cfg aws.Config
	o   *DiscoverOptions

	mu        sync.Mutex
	creds     map[string]aws.CredentialsProvider // by account
	unreached []*TargetError
}

// accounts returns the accounts to work in, sorted, with their credentials
// in d.creds.
func (d *discovery) accounts(ctx context.Context) ([]string, error) {
	switch {
	case len(d.o.RoleARNs) > 0:
		stsClient := sts.NewFromConfig(d.cfg)
		var accounts []string
		for _, s := range d.o.RoleARNs {
			r, _ := ParseRoleARN(s) // checked by Validate
			d.creds[r.Account] = d.assume(stsClient, s)
			accounts = append(accounts, r.Account)
		}
		slices.Sort(accounts)
		return accounts, nil
	case d.o.OrganizationRole != "":
		return d.organization(ctx)
	}
	out, err := sts.NewFromConfig(d.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("imdsopts: the caller's account (STS GetCallerIdentity): %w", err)
	}
	account := aws.ToString(out.Account)
	if !awsid.IsAccountID(account) {
		return nil, fmt.Errorf("imdsopts: STS GetCallerIdentity answered account %s, which is not 12 digits", check.Quote(account))
	}
	d.creds[account] = d.cfg.Credentials
	return []string{account}, nil
}

// assume returns the credentials of role arn, assumed with client.
func (d *discovery) assume(client *sts.Client, arn string) aws.CredentialsProvider {
	p := stscreds.NewAssumeRoleProvider(client, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = d.o.RoleSessionName
		if d.o.ExternalID != "" {
			o.ExternalID = aws.String(d.o.ExternalID)
		}
	})
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = roleCredentialsExpiryWindow })
}

// occurrence is where a value of a list first appears, where again (-1
// if never), and how often.
type occurrence[T comparable] struct {
	v             T
	first, second int
	n             int
}

// occurrences returns each distinct value of vs, in the order of its first
// appearance, with where and how often it appears.
func occurrences[T comparable](vs []T) []*occurrence[T] {
	var out []*occurrence[T]
	at := map[T]*occurrence[T]{}
	for i, v := range vs {
		o := at[v]
		if o == nil {
			o = &occurrence[T]{v: v, first: i, second: -1}
			at[v] = o
			out = append(out, o)
		} else if o.second < 0 {
			o.second = i
		}
		o.n++
	}
	return out
}

// given says how often a value was given, when more than usual times.
func given(n, usual int) string {
	if n <= usual {
		return ""
	}
	return fmt.Sprintf(" (given %d times)", n)
}

// listAccountsAPI is the part of *organizations.Client that
// Discover calls.
type listAccountsAPI interface {
	ListAccounts(ctx context.Context, params *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// organization returns the ACTIVE accounts of the organisation, with the
// credentials of OrganizationRole in each.
func (d *discovery) organization(ctx context.Context) ([]string, error) {
	listed, err := listAccounts(ctx, organizations.NewFromConfig(d.cfg), d.o.MaxAccounts)
	if err != nil {
		return nil, err
	}
	stsClient := sts.NewFromConfig(d.cfg)
	var accounts []string
	for _, a := range listed {
		id := aws.ToString(a.Id)
		if !active(a) {
			continue
		}
		partition := ""
		if parts := strings.SplitN(aws.ToString(a.Arn), ":", 3); len(parts) == 3 && parts[0] == "arn" && awsid.IsPartition(parts[1]) {
			partition = parts[1]
		}
		if partition == "" {
			d.unreached = append(d.unreached, &TargetError{Target: account.Target{Account: id},
				Err: fmt.Errorf("imdsopts: ListAccounts answered the account without an ARN to take its partition from (%s)", check.Quote(aws.ToString(a.Arn)))})
			continue
		}
		arn := RoleARN{Partition: partition, Account: id, Path: "/", Name: d.o.OrganizationRole}.String()
		d.creds[id] = d.assume(stsClient, arn)
		accounts = append(accounts, id)
	}
	slices.Sort(accounts)
	return accounts, nil
}

// active reports whether an account of the organisation is ACTIVE: by its
// State, or by its Status when it has no State.
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// listAccounts lists every account of the organisation, page by page: an
// empty page with a NextToken goes on, up to maxEmptyPages of them (the
// token may then be the one sent), and more than max accounts, or more
// than max+maxEmptyPages pages, is an error. An account listed twice is taken once.
func listAccounts(ctx context.Context, api listAccountsAPI, max int) ([]orgtypes.Account, error) {
	var accounts []orgtypes.Account
	seen := map[string]bool{}
	var token *string
	// An empty page may answer the token it was sent: count the pages only.
	tokens := pace.NewPageCounter("Organizations ListAccounts", max+maxEmptyPages)
	for empty := 0; ; {
		out, err := api.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("imdsopts: list the organisation's accounts (Organizations ListAccounts): %w", err)
		}
		for _, a := range out.Accounts {
			id := aws.ToString(a.Id)
			if !awsid.IsAccountID(id) {
				return nil, fmt.Errorf("imdsopts: Organizations ListAccounts answered account ID %s, which is not 12 digits", check.Quote(id))
			}
			if !seen[id] {
				seen[id] = true
				accounts = append(accounts, a)
			}
		}
		if len(accounts) > max {
			return nil, fmt.Errorf("imdsopts: the organisation lists more than %d accounts, the bound of DiscoverOptions.MaxAccounts", max)
		}
		if aws.ToString(out.NextToken) == "" {
			return accounts, nil
		}
		if len(out.Accounts) == 0 {
			if empty++; empty > maxEmptyPages {
				return nil, fmt.Errorf("imdsopts: Organizations ListAccounts answered more than %d empty pages: the listing would not end", maxEmptyPages)
			}
		}
		if err := tokens.Next(aws.ToString(out.NextToken)); err != nil {
			return nil, fmt.Errorf("imdsopts: list the organisation's accounts: %w", err)
		}
		token = out.NextToken
	}
}

// notOptedIn is DescribeRegions' OptInStatus of a Region that needs opting
// into and is not enabled for the account.
const notOptedIn = "not-opted-in"

// regionsAPI is the part of *ec2.Client that lists an account's Regions.
type regionsAPI interface {
	DescribeRegions(ctx context.Context, params *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// regions lists the Regions enabled for each account, at most Concurrency
// accounts at once; an account whose listing fails is unreached.
func (d *discovery) regions(ctx context.Context, accounts []string) map[string][]string {
	out := map[string][]string{}
	sem := make(chan struct{}, d.o.Concurrency)
	var wg sync.WaitGroup
	for _, a := range accounts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cfg := d.cfg.Copy()
			cfg.Credentials = d.creds[a]
			names, err := enabledRegions(ctx, ec2.NewFromConfig(cfg))
			d.mu.Lock()
			defer d.mu.Unlock()
			if err != nil {
				d.unreached = append(d.unreached, &TargetError{Target: account.Target{Account: a}, Err: err})
				return
			}
			out[a] = names
		})
	}
	wg.Wait()
	return out
}

// enabledRegions returns the names of the Regions enabled for the account
// of api, sorted.
func enabledRegions(ctx context.Context, api regionsAPI) ([]string, error) {
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("imdsopts: list the account's Regions (EC2 DescribeRegions): %w", liberr.Unauthorized(err))
	}
	var names []string
	for _, r := range out.Regions {
		name := aws.ToString(r.RegionName)
		if aws.ToString(r.OptInStatus) == notOptedIn {
			continue // listed only with AllRegions; not enabled
		}
		if !awsid.IsRegion(name) {
			return nil, fmt.Errorf("imdsopts: EC2 DescribeRegions answered Region %s, which is not a Region's name", check.Quote(name))
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// clients is the ClientsFunc of the targets found.
func (d *discovery) clients(_ context.Context, t account.Target) (account.Clients, error) {
	d.mu.Lock()
	creds := d.creds[t.Account]
	d.mu.Unlock()
	if creds == nil {
		return account.Clients{}, fmt.Errorf("account %s is not one of those found, so there are no credentials for it", t.Account)
	}
	cfg := d.cfg.Copy()
	cfg.Credentials = creds
	return NewClients(cfg, t), nil
}

// NewClients returns the clients of target t made from cfg: an
// *ec2.Client, an *autoscaling.Client and a *cloudwatch.Client in t's
// Region, with cfg's credentials (which must be those of t's account) and
// everything else of cfg, labelled with t.
func NewClients(cfg aws.Config, t account.Target) account.Clients {
	cfg = cfg.Copy()
	cfg.Region = t.Region
	return account.Clients{EC2: ec2.NewFromConfig(cfg), AutoScaling: autoscaling.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg),
		Target: t}
}
