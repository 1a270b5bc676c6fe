package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/check"
)

// The emulator of an organisation: --organization N (and --emulator
// --emulator-organization N) serve N accounts, the management account and
// N-1 members, each with the role organizationRole, each seeded alike in
// every Region of --organization-regions, on one endpoint that routes each
// request to its account and Region by its signature, with STS
// (AssumeRole) and Organizations (ListAccounts), as fake.NewHandler does
// with an Organization. The access key "test" is the management account's
// user.

// organizationRole is the role of every account of the emulator's
// organisation: the one AWS Organizations creates in the accounts it makes.
const organizationRole = "OrganizationAccountAccessRole"

// Bounds of the emulator's organisation, and its Regions by default.
const maxOrgAccounts = 100

var defaultOrgRegions = []string{"us-east-1", "eu-west-1"}

// orgSeed is the shape of the emulator's organisation: its accounts, and
// the Regions each is seeded in.
type orgSeed struct {
	accounts int
	regions  []string
}

// registerOrg registers --organization and --organization-regions.
func (f *emulatorFlags) registerOrg(fs *flag.FlagSet) {
	fs.Func("organization", "`N` serve an organisation of N accounts (1..100): the management account 123456789012 and members "+
		"100000000001, 100000000002..., each with the role OrganizationAccountAccessRole, each seeded alike (--seed, --instances or "+
		"the realistic account) in every Region of --organization-regions; with STS (AssumeRole) and Organizations (ListAccounts). "+
		"Each request reaches the account and Region its signature names; the access key \"test\" is the management account's user, "+
		"and the roles' credentials reach their accounts", orgAccountsValue(&f.org.accounts))
	fs.Func("organization-regions", "`R1,R2` the Regions seeded in every account (default us-east-1,eu-west-1); the others are served empty", func(s string) error {
		var regions []string
		for r := range strings.SplitSeq(s, ",") {
			r = strings.TrimSpace(r)
			if !fake.IsRegion(r) {
				return fmt.Errorf("%s is not a Region the emulator serves: must be Regions of the aws partition, separated by commas", check.Quote(r))
			}
			if slices.Contains(regions, r) {
				return fmt.Errorf("%s is given twice", check.Quote(r))
			}
			regions = append(regions, r)
		}
		f.org.regions = regions
		return nil
	})
}

// orgAccountsValue parses the number of accounts of an organisation.
func orgAccountsValue(n *int) func(string) error {
	return func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxOrgAccounts {
			return fmt.Errorf("must be a number of accounts, 1..%d (the management account and the members)", maxOrgAccounts)
		}
		*n = v
		return nil
	}
}

// memberID is the account ID of the i-th member (from 1).
func memberID(i int) string { return fmt.Sprintf("%012d", 100000000000+i) }

// seedOrganization makes the organisation of o, each account/Region
// seeded with s, and returns it with what was seeded in each.
func seedOrganization(ctx context.Context, o orgSeed, s *fake.Seed, opts emulatorOptions) (*fake.Organization, seedSummary, error) {
	org, err := fake.NewOrganization(func(oo *fake.OrganizationOptions) { oo.EC2, oo.CloudWatch = opts.ec2, opts.cw })
	if err != nil {
		return nil, seedSummary{}, err
	}
	accounts := []*fake.Account{org.Management()}
	for i := 1; i < o.accounts; i++ {
		a, err := org.AddAccount(memberID(i), func(ao *fake.AccountOptions) { ao.Name = fmt.Sprintf("member-%d", i) })
		if err != nil {
			return nil, seedSummary{}, err
		}
		accounts = append(accounts, a)
	}
	var each seedSummary
	for _, a := range accounts {
		if err := a.CreateRole(organizationRole); err != nil {
			return nil, seedSummary{}, err
		}
		for _, name := range o.regions {
			r, err := a.Region(name)
			if err != nil {
				return nil, seedSummary{}, err
			}
			sum, err := seedAccount(ctx, r.EC2(), r.AutoScaling(), r.CloudWatch(), s)
			if err != nil {
				return nil, seedSummary{}, err
			}
			each = sum
		}
	}
	return org, each, nil
}

// startOrgEmulator seeds the organisation of o and serves it on addr. A nil
// logger logs nothing.
func startOrgEmulator(addr string, o orgSeed, seed *fake.Seed, opts emulatorOptions, logger *requestLog) (*runningEmulator, error) {
	if len(o.regions) == 0 {
		o.regions = defaultOrgRegions
	}
	org, each, err := seedOrganization(context.Background(), o, seed, opts)
	if err != nil {
		return nil, err
	}
	home, err := org.Management().Region(o.regions[0])
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErrorf("--addr %q: %v", addr, err)
	}
	h := fake.NewHandler(home.EC2(), func(ho *fake.HandlerOptions) {
		ho.Organization = org
		ho.CloudWatch, ho.AutoScaling = home.CloudWatch(), home.AutoScaling()
		if logger != nil {
			ho.OnRequest = logger.record
		}
	})
	em := &runningEmulator{
		URL: "http://" + l.Addr().String(), ec2: home.EC2(), cw: home.CloudWatch(), summary: each, listener: l,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10},
		served: make(chan error, 1),
		org:    &emulatedOrg{org: org, regions: o.regions},
	}
	go func() { em.served <- em.srv.Serve(l) }()
	return em, nil
}

// emulatedOrg is the organisation an emulator serves.
type emulatedOrg struct {
	org     *fake.Organization
	regions []string
}

// accountsText names the accounts: "123456789012 (management),
// 100000000001, 100000000002".
func (o *emulatedOrg) accountsText() string {
	var ids []string
	for i, a := range o.org.Accounts() {
		id := a.ID()
		if i == 0 {
			id += " (management)"
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ", ")
}

// orgInstructions tells how to point the AWS CLI and imdsopts at the
// emulator of an organisation. The first line ends with the URL, for
// scripts.
func (em *runningEmulator) orgInstructions() string {
	u, o := em.URL, em.org
	regions := strings.Join(o.regions, ",")
	in := strings.Join(o.regions, ", ")
	if n := len(o.regions); n > 1 {
		in = strings.Join(o.regions[:n-1], ", ") + " and " + o.regions[n-1]
	}
	return fmt.Sprintf(`imdsopts emulator: an organisation of %d accounts at %s
accounts %s, each with the role %s;
in %s, each account %s
Point the AWS CLI and imdsopts at it as the management account's user (signatures are not
verified; the access key "test" is that user's):

  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=%s
  aws organizations list-accounts --endpoint-url %s --query 'Accounts[].[Id,Name,Status]' --output text
  imdsopts plan --endpoint-url %s --organization-role %s --regions %s \
      --filters Name=instance-state-name,Values=running,stopped --http-tokens required

Stop it with Ctrl-C.
`, len(o.org.Accounts()), u, o.accountsText(), organizationRole, in, em.summary, o.regions[0], u, u, organizationRole, regions)
}

// checkEmulatorOrg refuses an emulator's organisation where it does not
// apply, and the target flags with an emulator that has none (an
// emulator of one account serves no STS or Organizations).
func (g *globals) checkEmulatorOrg() error {
	switch {
	case g.emulatorOrg > 0 && !g.emulator:
		return usageErrorf("--emulator-organization %d: only with --emulator", g.emulatorOrg)
	case g.emulator && g.emulatorOrg == 0 && g.targets.active():
		return usageErrorf("--emulator with --regions, --role-arn, --role-arns-file or --organization-role: also give --emulator-organization N, an organisation of N accounts (an emulator of one account serves no STS or Organizations)")
	}
	return nil
}
