package fake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// The fakes of STS and Organizations satisfy the SDK's interfaces for them.
var (
	_ stscreds.AssumeRoleAPIClient        = (*fake.STS)(nil)
	_ organizations.ListAccountsAPIClient = (*fake.Organizations)(nil)
	_ interface {
		GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	} = (*fake.STS)(nil)
	_ interface {
		DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
	} = (*ec2.Client)(nil)
	_ interface {
		DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
	} = (*fake.EC2)(nil)
)

// The accounts of the tests' organisations.
const (
	mgmtID = fake.AccountID
	prodID = "111111111111"
	devID  = "222222222222"
	oldID  = "333333333333"
)

// newOrg returns an organisation with the members prod (which has
// af-south-1 enabled), dev and old, each with the role Admin, prod's
// requiring the external ID "ext-1".
func newOrg(t *testing.T, optFns ...func(*fake.OrganizationOptions)) *fake.Organization {
	t.Helper()
	org, err := fake.NewOrganization(optFns...)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		id, name string
		optIn    []string
		external string
	}{{prodID, "prod", []string{"af-south-1"}, "ext-1"}, {devID, "dev", nil, ""}, {oldID, "old", nil, ""}} {
		a, err := org.AddAccount(m.id, func(o *fake.AccountOptions) { o.Name, o.OptInRegions = m.name, m.optIn })
		if err != nil {
			t.Fatal(err)
		}
		if err := a.CreateRole("Admin", func(o *fake.RoleOptions) { o.ExternalID = m.external; o.MaxSessionDuration = 2 * time.Hour }); err != nil {
			t.Fatal(err)
		}
	}
	return org
}

// region returns account id's services in Region name.
func region(t *testing.T, org *fake.Organization, id, name string) *fake.Region {
	t.Helper()
	a := org.Account(id)
	if a == nil {
		t.Fatalf("no account %s", id)
	}
	r, err := a.Region(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewOrganizationRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts func(*fake.OrganizationOptions)
		want string
	}{
		{"bad ID", func(o *fake.OrganizationOptions) { o.ID = "org-1" }, `ID "org-1": must be o- and 10 to 32 lower-case letters or digits`},
		{"short ID", func(o *fake.OrganizationOptions) { o.ID = "o-abc" }, `ID "o-abc"`},
		{"bad management ID", func(o *fake.OrganizationOptions) { o.ManagementAccountID = "12345" }, `account ID "12345": must be 12 digits`},
		{"default Region opted into", func(o *fake.OrganizationOptions) { o.Management.OptInRegions = []string{"eu-west-1"} },
			"eu-west-1 is enabled in every account"},
		{"unknown Region", func(o *fake.OrganizationOptions) { o.Management.OptInRegions = []string{"xx-east-1"} },
			`"xx-east-1" is not a Region of the aws partition`},
		{"Region twice", func(o *fake.OrganizationOptions) { o.Management.OptInRegions = []string{"af-south-1", "af-south-1"} },
			"af-south-1 is listed twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			org, err := fake.NewOrganization(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || org != nil {
				t.Errorf("got %v, %v; want an error containing %q", org, err, tt.want)
			}
		})
	}
	org, err := fake.NewOrganization()
	if err != nil {
		t.Fatal(err)
	}
	if org.ID() != "o-exampleorgid" || org.Management().ID() != fake.AccountID || org.Management().Name() != "management" {
		t.Errorf("defaults: %s %s %s", org.ID(), org.Management().ID(), org.Management().Name())
	}
}

func TestAddAccountAndRoleRules(t *testing.T) {
	org := newOrg(t)
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"not 12 digits", second(org.AddAccount("1234567890123")), `account ID "1234567890123": must be 12 digits`},
		{"letters", second(org.AddAccount("12345678901a")), "must be 12 digits"},
		{"already in", second(org.AddAccount(prodID)), "account 111111111111 is already in the organisation"},
		{"management", second(org.AddAccount(mgmtID)), "already in the organisation"},
		{"role name", org.Management().CreateRole("bad name"), `name "bad name": must be 1 to 64`},
		{"role name too long", org.Management().CreateRole(strings.Repeat("r", 65)), "must be 1 to 64"},
		{"role twice", org.Account(prodID).CreateRole("Admin"), "account 111111111111 already has a role named Admin"},
		{"short session", org.Management().CreateRole("r", func(o *fake.RoleOptions) { o.MaxSessionDuration = time.Minute }), "MaxSessionDuration 1m0s: must be 1h to 12h"},
		{"long session", org.Management().CreateRole("r", func(o *fake.RoleOptions) { o.MaxSessionDuration = 13 * time.Hour }), "must be 1h to 12h"},
		{"external ID", org.Management().CreateRole("r", func(o *fake.RoleOptions) { o.ExternalID = "x" }), `ExternalID "x": must be 2 to 1224`},
		{"suspend management", org.SuspendAccount(mgmtID), "is the management account"},
		{"remove management", org.RemoveAccount(mgmtID), "is the management account"},
		{"remove unknown", org.RemoveAccount("999999999999"), "account 999999999999 is not in the organisation"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, tt.err, tt.want)
		}
	}
	if err := org.RemoveAccount(oldID); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount(oldID); err == nil {
		t.Error("an account removed twice")
	}
	if _, err := org.AddAccount(oldID); err == nil {
		t.Error("a removed account added again")
	}
	if org.Account(oldID) != nil {
		t.Error("Account returns a removed account")
	}
	var ids []string
	for _, a := range org.Accounts() {
		ids = append(ids, a.ID())
	}
	if want := []string{mgmtID, prodID, devID}; !cmp.Equal(ids, want) {
		t.Errorf("Accounts: %v, want %v", ids, want)
	}
}

func second[T any](_ T, err error) error { return err }

func TestAccountRegions(t *testing.T) {
	org := newOrg(t)
	prod := org.Account(prodID)
	if n := len(prod.Regions()); n != 18 {
		t.Errorf("prod has %d Regions, want the 17 enabled by default and af-south-1", n)
	}
	if n := len(org.Account(devID).Regions()); n != 17 {
		t.Errorf("dev has %d Regions, want the 17 enabled by default", n)
	}
	for _, tt := range []struct{ account, region, want string }{
		{devID, "af-south-1", "Region af-south-1 is not enabled"},
		{devID, "us-east-9", `"us-east-9" is not a Region`},
		{devID, "", `"" is not a Region`},
	} {
		if _, err := org.Account(tt.account).Region(tt.region); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: %v, want %q", tt.account, tt.region, err, tt.want)
		}
	}
	// Each account/Region is its own EC2, with its own account ID, whose
	// CloudWatch and AutoScaling are its own too.
	eu, us := region(t, org, prodID, "eu-west-1"), region(t, org, prodID, "us-east-1")
	if eu == us || eu.EC2() == us.EC2() || region(t, org, prodID, "eu-west-1") != eu {
		t.Fatal("the Regions of an account share an EC2, or a Region is made twice")
	}
	if eu.Name() != "eu-west-1" || eu.AccountID() != prodID || eu.EC2().AccountID() != prodID || eu.EC2().Region() != "eu-west-1" {
		t.Errorf("eu-west-1 of prod: %s %s %s %s", eu.Name(), eu.AccountID(), eu.EC2().AccountID(), eu.EC2().Region())
	}
	if eu.AutoScaling().EC2() != eu.EC2() {
		t.Error("the AutoScaling of a Region launches elsewhere")
	}
	img := register(t, eu.EC2(), "img", "")
	out, err := eu.EC2().RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil || aws.ToString(out.OwnerId) != prodID {
		t.Errorf("RunInstances in prod: owner %v, %v", aws.ToString(out.OwnerId), err)
	}
	images, err := eu.EC2().DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{prodID}})
	if err != nil || len(images.Images) != 1 || aws.ToString(images.Images[0].OwnerId) != prodID {
		t.Errorf("DescribeImages owned by prod: %+v, %v", images, err)
	}
	if got := describeAll(t, us.EC2(), &ec2.DescribeInstancesInput{}); len(got) != 0 {
		t.Errorf("us-east-1 of prod sees eu-west-1's instances: %v", got)
	}
	if _, err := eu.AutoScaling().CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String("c"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro")}); err != nil {
		t.Fatal(err)
	}
	lc, err := eu.AutoScaling().DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{})
	if err != nil || !strings.HasPrefix(aws.ToString(lc.LaunchConfigurations[0].LaunchConfigurationARN), "arn:aws:autoscaling:eu-west-1:"+prodID+":launchConfiguration:") {
		t.Errorf("launch configuration ARN in prod's eu-west-1: %v", err)
	}
}

// regionStatuses is a DescribeRegions answer as "name status" lines.
func regionStatuses(out *ec2.DescribeRegionsOutput) []string {
	var s []string
	for _, r := range out.Regions {
		if want := "ec2." + aws.ToString(r.RegionName) + ".amazonaws.com"; aws.ToString(r.Endpoint) != want {
			s = append(s, "bad endpoint "+aws.ToString(r.Endpoint))
		}
		s = append(s, aws.ToString(r.RegionName)+" "+aws.ToString(r.OptInStatus))
	}
	return s
}

func TestDescribeRegions(t *testing.T) {
	org := newOrg(t)
	prod := region(t, org, prodID, "us-east-1").EC2()
	dev := region(t, org, devID, "us-east-1").EC2()
	filter := func(name string, values ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: values}}
	}
	for _, tt := range []struct {
		name string
		f    *fake.EC2
		in   ec2.DescribeRegionsInput
		want []string
	}{
		{"opted in", prod, ec2.DescribeRegionsInput{Filters: filter("opt-in-status", "opted-in", "not-opted-in")}, []string{"af-south-1 opted-in"}},
		{"opt-in not opted into", dev, ec2.DescribeRegionsInput{Filters: filter("opt-in-status", "opted-in", "not-opted-in")}, nil},
		{"all Regions", dev, ec2.DescribeRegionsInput{AllRegions: aws.Bool(true), RegionNames: []string{"af-south-1", "eu-west-1", "us-east-1"}},
			[]string{"af-south-1 not-opted-in", "eu-west-1 opt-in-not-required", "us-east-1 opt-in-not-required"}},
		{"names", prod, ec2.DescribeRegionsInput{RegionNames: []string{"us-west-2", "af-south-1", "ap-east-1"}},
			[]string{"af-south-1 opted-in", "us-west-2 opt-in-not-required"}},
		{"wildcard", prod, ec2.DescribeRegionsInput{Filters: filter("region-name", "eu-west-*")},
			[]string{"eu-west-1 opt-in-not-required", "eu-west-2 opt-in-not-required", "eu-west-3 opt-in-not-required"}},
		{"endpoint", dev, ec2.DescribeRegionsInput{Filters: filter("endpoint", "ec2.sa-east-1.amazonaws.com")}, []string{"sa-east-1 opt-in-not-required"}},
		{"a fake of New", fake.New(), ec2.DescribeRegionsInput{Filters: filter("opt-in-status", "opted-in")}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.f.DescribeRegions(ctx, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, regionStatuses(out)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	all, err := dev.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil || len(all.Regions) != 17 {
		t.Errorf("dev's Regions: %d, %v; want the 17 enabled by default", len(all.Regions), err)
	}
	every, err := dev.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil || len(every.Regions) != 36 || !slices.IsSortedFunc(every.Regions, func(a, b types.Region) int {
		return strings.Compare(aws.ToString(a.RegionName), aws.ToString(b.RegionName))
	}) {
		t.Errorf("every Region: %d, %v; want 36 in name order", len(every.Regions), err)
	}
	for _, in := range []*ec2.DescribeRegionsInput{
		{RegionNames: []string{"us-east-9"}},
		{Filters: filter("geography", "x")},
	} {
		_, err := dev.DescribeRegions(ctx, in)
		wantCode(t, err, "DescribeRegions", "InvalidParameterValue", 400)
	}
	_, err = dev.DescribeRegions(ctx, &ec2.DescribeRegionsInput{DryRun: aws.Bool(true)})
	wantCode(t, err, "DescribeRegions", "DryRunOperation", 412)
}

// Every account/Region has buckets of its own: exhausting one never
// throttles another, of the same account or of another.
func TestBucketsPerAccountRegion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org := newOrg(t, func(o *fake.OrganizationOptions) {
			o.EC2 = func(o *fake.Options) {
				o.Throttle = true
				o.Buckets.DescribeUnfiltered = fake.Bucket{Size: 3, Refill: 1}
			}
		})
		describe := func(r *fake.Region) error {
			_, err := r.EC2().DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}
		hot := region(t, org, prodID, "us-east-1")
		for range 3 {
			if err := describe(hot); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, describe(hot), "DescribeInstances", "RequestLimitExceeded", 503)
		for _, r := range []*fake.Region{region(t, org, prodID, "eu-west-1"), region(t, org, devID, "us-east-1"), region(t, org, mgmtID, "us-east-1")} {
			for range 3 {
				if err := describe(r); err != nil {
					t.Errorf("%s %s throttled by prod's us-east-1: %v", r.AccountID(), r.Name(), err)
				}
			}
			if n := r.EC2().Throttled("DescribeInstances"); n != 0 {
				t.Errorf("%s %s: %d throttled", r.AccountID(), r.Name(), n)
			}
		}
		if n := hot.EC2().Throttled("DescribeInstances"); n != 1 {
			t.Errorf("prod's us-east-1 throttled %d calls, want 1", n)
		}
		var apiErr smithy.APIError
		if err := describe(hot); !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorMessage(), "Account "+prodID+" has been throttled") {
			t.Errorf("throttling message does not name prod: %v", err)
		}
		time.Sleep(time.Second)
		if err := describe(hot); err != nil {
			t.Errorf("after a second's refill: %v", err)
		}
	})
}

// assume assumes role Admin of account id with the STS s.
func assume(t *testing.T, s *fake.STS, id string, edit ...func(*sts.AssumeRoleInput)) *sts.AssumeRoleOutput {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + id + ":role/Admin"), RoleSessionName: aws.String("imdsopts")}
	for _, e := range edit {
		e(in)
	}
	out, err := s.AssumeRole(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// credsOf returns the credentials of an AssumeRole answer.
func credsOf(out *sts.AssumeRoleOutput) aws.Credentials {
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration)}
}

// stsCode fails the test unless err is the STS error code with status.
func stsCode(t *testing.T, err error, op, want string, wantStatus int) {
	t.Helper()
	var oe *smithy.OperationError
	if err == nil || code(err) != want || status(err) != wantStatus || !errors.As(err, &oe) || oe.ServiceID != "STS" || oe.OperationName != op {
		t.Errorf("%s: got %v (code %q, HTTP %d), want STS %s HTTP %d", op, err, code(err), status(err), want, wantStatus)
	}
}

func TestAssumeRoleRules(t *testing.T) {
	org := newOrg(t)
	if err := org.SuspendAccount(devID); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount(oldID); err != nil {
		t.Fatal(err)
	}
	if err := org.Management().CreateRole("Chain"); err != nil {
		t.Fatal(err)
	}
	s := org.STS()
	arn := func(id, role string) *string { return aws.String("arn:aws:iam::" + id + ":role/" + role) }
	denied := func(role string) string {
		return "User: arn:aws:iam::" + mgmtID + ":user/test is not authorized to perform: sts:AssumeRole on resource: " + role
	}
	for _, tt := range []struct {
		name    string
		in      sts.AssumeRoleInput
		code    string
		status  int
		message string
	}{
		{"no ARN", sts.AssumeRoleInput{RoleSessionName: aws.String("s1")}, "ValidationError", 400,
			"1 validation error detected: Value 'null' at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"no session name", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin")}, "ValidationError", 400,
			"1 validation error detected: Value 'null' at 'roleSessionName' failed to satisfy constraint: Member must not be null"},
		{"short ARN", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::1:r"), RoleSessionName: aws.String("s1")}, "ValidationError", 400,
			"1 validation error detected: Value 'arn:aws:iam::1:r' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048"},
		{"malformed ARN", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::11111111111:role/Admin"), RoleSessionName: aws.String("s1")}, "ValidationError", 400,
			"Request ARN is invalid"},
		{"not a role", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:user/Admin"), RoleSessionName: aws.String("s1")}, "ValidationError", 400,
			"Request ARN is invalid"},
		{"session name", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin"), RoleSessionName: aws.String("a b")}, "ValidationError", 400,
			`1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"short session name", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin"), RoleSessionName: aws.String("a")}, "ValidationError", 400,
			"1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64"},
		{"duration 899", sts.AssumeRoleInput{RoleArn: arn(devID, "Admin"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)}, "ValidationError", 400,
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"},
		{"external ID syntax", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("a b")}, "ValidationError", 400,
			`1 validation error detected: Value 'a b' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@:\/-]* and have length between 2 and 1224`},
		{"over the role's maximum", sts.AssumeRoleInput{RoleArn: arn(mgmtID, "Chain"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(3601)}, "ValidationError", 400,
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"no external ID", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403, denied(*arn(prodID, "Admin"))},
		{"wrong external ID", sts.AssumeRoleInput{RoleArn: arn(prodID, "Admin"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-2")}, "AccessDenied", 403, denied(*arn(prodID, "Admin"))},
		{"no such role", sts.AssumeRoleInput{RoleArn: arn(prodID, "Reader"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1")}, "AccessDenied", 403, denied(*arn(prodID, "Reader"))},
		{"role path", sts.AssumeRoleInput{RoleArn: arn(prodID, "ops/Admin"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1")}, "AccessDenied", 403, denied(*arn(prodID, "ops/Admin"))},
		{"not in the organisation", sts.AssumeRoleInput{RoleArn: arn("444444444444", "Admin"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403, denied(*arn("444444444444", "Admin"))},
		{"suspended", sts.AssumeRoleInput{RoleArn: arn(devID, "Admin"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403, denied(*arn(devID, "Admin"))},
		{"removed", sts.AssumeRoleInput{RoleArn: arn(oldID, "Admin"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403, denied(*arn(oldID, "Admin"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AssumeRole(ctx, &tt.in)
			stsCode(t, err, "AssumeRole", tt.code, tt.status)
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorMessage() != tt.message {
				t.Errorf("message %q\nwant    %q", apiErr.ErrorMessage(), tt.message)
			}
		})
	}

	// The right external ID, and a session of 2 hours (the role's maximum).
	out := assume(t, s, prodID, func(in *sts.AssumeRoleInput) {
		in.ExternalId = aws.String("ext-1")
		in.DurationSeconds = aws.Int32(7200)
	})
	key := aws.ToString(out.Credentials.AccessKeyId)
	if len(key) != 20 || !strings.HasPrefix(key, "ASIA") || aws.ToString(out.Credentials.SecretAccessKey) == "" || aws.ToString(out.Credentials.SessionToken) == "" {
		t.Errorf("credentials %+v", out.Credentials)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::"+prodID+":assumed-role/Admin/imdsopts" {
		t.Errorf("assumed role ARN %s", got)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 2*time.Hour-2*time.Second || d > 2*time.Hour {
		t.Errorf("credentials expire in %v, want 2h", d)
	}
	if n := s.Calls("AssumeRole"); n != 18 {
		t.Errorf("AssumeRole called %d times, want 18", n)
	}
}

// The credentials of AssumeRole reach the role's account, in each Region
// enabled for it, until they expire.
func TestAssumedCredentialsReachTheAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org := newOrg(t)
		creds := credsOf(assume(t, org.STS(), devID, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(900) }))
		r, err := org.Resolve(creds, "eu-west-1")
		if err != nil || r != region(t, org, devID, "eu-west-1") {
			t.Fatalf("Resolve(%s, eu-west-1): %v, %v; want dev's eu-west-1", creds.AccessKeyID, r, err)
		}
		management := aws.Credentials{AccessKeyID: fake.ManagementAccessKeyID, SecretAccessKey: "anything"}
		if r, err := org.Resolve(management, "us-east-1"); err != nil || r.AccountID() != mgmtID {
			t.Errorf("the management key reaches %v, %v", r, err)
		}
		noToken, otherToken, managementWithToken := creds, creds, management
		noToken.SessionToken, otherToken.SessionToken, managementWithToken.SessionToken = "", "x", "x"
		for _, tt := range []struct {
			name   string
			creds  aws.Credentials
			region string
			code   string
		}{
			{"a Region not enabled", creds, "af-south-1", "AuthFailure"},
			{"not a Region", creds, "xx-east-1", "SignatureDoesNotMatch"},
			{"an unknown key", aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}, "us-east-1", "AuthFailure"},
			{"a session key without its token", noToken, "us-east-1", "AuthFailure"},
			{"a session key with another token", otherToken, "us-east-1", "AuthFailure"},
			{"the management key with a token", managementWithToken, "us-east-1", "AuthFailure"},
		} {
			_, err := org.Resolve(tt.creds, tt.region)
			if code(err) != tt.code {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			}
		}
		time.Sleep(15 * time.Minute)
		_, err = org.Resolve(creds, "eu-west-1")
		if code(err) != "RequestExpired" || status(err) != 400 {
			t.Errorf("expired credentials: %v, want RequestExpired (HTTP 400)", err)
		}
	})
}

// Credentials of an account that leaves the organisation stop working at
// once, with every service; its roles can no longer be assumed; the
// listing no longer has it.
func TestRemoveAccountMidRun(t *testing.T) {
	org := newOrg(t)
	creds := credsOf(assume(t, org.STS(), devID))
	if _, err := org.Resolve(creds, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount(devID); err != nil {
		t.Fatal(err)
	}
	if _, err := org.Resolve(creds, "us-east-1"); code(err) != "AuthFailure" || status(err) != 401 {
		t.Errorf("EC2 with a removed account's credentials: %v, want AuthFailure (HTTP 401)", err)
	}
	_, err := org.STS().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + devID + ":role/Admin"), RoleSessionName: aws.String("s2")})
	stsCode(t, err, "AssumeRole", "AccessDenied", 403)
	list, err := org.Organizations().ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Accounts {
		if aws.ToString(a.Id) == devID {
			t.Error("ListAccounts lists a removed account")
		}
	}
}

func TestSTSThrottlingAndFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org := newOrg(t, func(o *fake.OrganizationOptions) { o.STSRequests = fake.Bucket{Size: 2, Refill: 1} })
		s := org.STS()
		assume(t, s, devID)
		if _, err := s.GetCallerIdentity(ctx, nil); err != nil {
			t.Fatal(err)
		}
		_, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + devID + ":role/Admin"), RoleSessionName: aws.String("s")})
		stsCode(t, err, "AssumeRole", "Throttling", 400)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorMessage() != "Rate exceeded" {
			t.Errorf("message %q", apiErr.ErrorMessage())
		}
		if n := s.Throttled("AssumeRole"); n != 1 {
			t.Errorf("Throttled %d, want 1", n)
		}
		time.Sleep(time.Second)
		assume(t, s, devID)

		s.FailNext("AssumeRole", 1, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
		s.FailNext("AssumeRole", 1, nil)
		time.Sleep(time.Hour)
		_, err = s.AssumeRole(ctx, nil)
		stsCode(t, err, "AssumeRole", "Throttling", 400)
		_, err = s.AssumeRole(ctx, nil)
		stsCode(t, err, "AssumeRole", "InternalFailure", 500)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		var ce *smithy.CanceledError
		if _, err := s.AssumeRole(canceled, nil); !errors.As(err, &ce) {
			t.Errorf("canceled: %v", err)
		}
		if n := s.Calls("AssumeRole"); n != 6 {
			t.Errorf("AssumeRole called %d times, want 6", n)
		}
	})
}

func TestGetCallerIdentity(t *testing.T) {
	org := newOrg(t)
	out, err := org.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != mgmtID || aws.ToString(out.Arn) != "arn:aws:iam::"+mgmtID+":user/test" || !strings.HasPrefix(aws.ToString(out.UserId), "AIDA") {
		t.Errorf("%s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

// listAll pages through ListAccounts with page size size (0 for the
// default) and returns "ID Status State" lines and the number of pages.
func listAll(t *testing.T, o *fake.Organizations, size int32) ([]string, int) {
	t.Helper()
	in := &organizations.ListAccountsInput{}
	if size > 0 {
		in.MaxResults = aws.Int32(size)
	}
	var got []string
	pages := organizations.NewListAccountsPaginator(o, in)
	n := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if size > 0 && len(out.Accounts) > int(size) {
			t.Errorf("a page of %d with MaxResults %d", len(out.Accounts), size)
		}
		for _, a := range out.Accounts {
			got = append(got, fmt.Sprintf("%s %s %s", aws.ToString(a.Id), a.Status, a.State))
		}
	}
	return got, n
}

func TestListAccounts(t *testing.T) {
	org := newOrg(t)
	for i := range 40 {
		if _, err := org.AddAccount(fmt.Sprintf("5000000000%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := org.SuspendAccount(devID); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount(oldID); err != nil {
		t.Fatal(err)
	}
	want := []string{mgmtID + " ACTIVE ACTIVE", prodID + " ACTIVE ACTIVE", devID + " SUSPENDED SUSPENDED"}
	for i := range 40 {
		want = append(want, fmt.Sprintf("5000000000%02d ACTIVE ACTIVE", i))
	}
	o := org.Organizations()
	for _, size := range []int32{0, 1, 7, 20} {
		got, pages := listAll(t, o, size)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("page size %d (-want +got):\n%s", size, diff)
		}
		if size == 0 && pages != 3 {
			t.Errorf("%d pages of the default size, want 3 of 20", pages)
		}
	}

	// One page, as ListAccounts describes an account.
	out, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Accounts[1]
	if aws.ToString(p.Arn) != "arn:aws:organizations::"+mgmtID+":account/o-exampleorgid/"+prodID || aws.ToString(p.Name) != "prod" ||
		aws.ToString(p.Email) != prodID+"@example.com" || p.JoinedMethod != orgtypes.AccountJoinedMethodCreated || p.JoinedTimestamp == nil ||
		out.Accounts[0].JoinedMethod != orgtypes.AccountJoinedMethodInvited {
		t.Errorf("account %+v", p)
	}

	// Accounts added or removed between pages: none listed twice or
	// missed among those that stay.
	page, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount(aws.ToString(page.Accounts[4].Id)); err != nil {
		t.Fatal(err)
	}
	if err := org.RemoveAccount("500000000003"); err != nil {
		t.Fatal(err)
	}
	rest, err := o.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: page.NextToken, MaxResults: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	if first := aws.ToString(rest.Accounts[0].Id); first != "500000000002" {
		t.Errorf("the page after a removal starts at %s, want 500000000002", first)
	}

	// Empty pages that go on: a caller that keeps paging sees every
	// account.
	before, _ := listAll(t, o, 0)
	o.EmptyPages(2)
	after, pages := listAll(t, o, 0)
	if !cmp.Equal(before, after) || pages != 5 {
		t.Errorf("with two empty pages: %d pages, same accounts %v", pages, cmp.Equal(before, after))
	}

	const op = "ListAccounts"
	for _, tt := range []struct {
		in     organizations.ListAccountsInput
		reason orgtypes.InvalidInputExceptionReason
	}{
		{organizations.ListAccountsInput{MaxResults: aws.Int32(0)}, orgtypes.InvalidInputExceptionReasonMinValueExceeded},
		{organizations.ListAccountsInput{MaxResults: aws.Int32(21)}, orgtypes.InvalidInputExceptionReasonMaxValueExceeded},
		{organizations.ListAccountsInput{NextToken: aws.String("bogus")}, orgtypes.InvalidInputExceptionReasonInvalidPaginationToken},
	} {
		_, err := o.ListAccounts(ctx, &tt.in)
		var bad *orgtypes.InvalidInputException
		if !errors.As(err, &bad) || bad.Reason != tt.reason || status(err) != 400 {
			t.Errorf("%+v: %v, want InvalidInputException %s", tt.in, err, tt.reason)
		}
	}
	o.FailNext(op, 1, nil)
	_, err = o.ListAccounts(ctx, nil)
	var se *orgtypes.ServiceException
	var oe *smithy.OperationError
	if !errors.As(err, &se) || status(err) != 500 || !errors.As(err, &oe) || oe.ServiceID != "Organizations" {
		t.Errorf("injected failure: %v", err)
	}
	if n := o.Calls(op); n < 10 {
		t.Errorf("ListAccounts called %d times", n)
	}
}

// The organisation under concurrent callers of different accounts (run
// with -race): each reaches its own account/Region.
func TestOrganizationConcurrentCallers(t *testing.T) {
	org := newOrg(t, func(o *fake.OrganizationOptions) { o.EC2 = func(o *fake.Options) { o.ApplyDelay = 0 } })
	var wg sync.WaitGroup
	for _, id := range []string{mgmtID, devID, prodID} {
		for _, name := range []string{"us-east-1", "eu-west-1"} {
			r := region(t, org, id, name)
			if _, err := r.EC2().Launch(5); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				creds := aws.Credentials{AccessKeyID: fake.ManagementAccessKeyID}
				if id != mgmtID {
					in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + id + ":role/Admin"), RoleSessionName: aws.String("s-" + name)}
					if id == prodID {
						in.ExternalId = aws.String("ext-1")
					}
					out, err := org.STS().AssumeRole(ctx, in)
					if err != nil {
						t.Error(err)
						return
					}
					creds = credsOf(out)
				}
				got, err := org.Resolve(creds, name)
				if err != nil || got != r {
					t.Errorf("%s %s: %v", id, name, err)
					return
				}
				out, err := got.EC2().DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
				if err != nil || len(ids(out)) != 5 || aws.ToString(out.Reservations[0].OwnerId) != id {
					t.Errorf("%s %s: %d instances, %v", id, name, len(ids(out)), err)
				}
				_, _ = org.Organizations().ListAccounts(ctx, nil)
				_ = org.Accounts()
			})
		}
	}
	wg.Wait()
}
