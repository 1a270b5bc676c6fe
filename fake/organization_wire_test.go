package fake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// orgHandler serves org, with the management account's us-east-1 for
// requests without an Authorization header.
func orgHandler(org *fake.Organization, optFns ...func(*fake.HandlerOptions)) http.Handler {
	home, err := org.Management().Region("us-east-1")
	if err != nil {
		panic(err)
	}
	return fake.NewHandler(home.EC2(), append([]func(*fake.HandlerOptions){func(o *fake.HandlerOptions) {
		o.Organization = org
		o.CloudWatch, o.AutoScaling = home.CloudWatch(), home.AutoScaling()
	}}, optFns...)...)
}

// The real SDK, stscreds included, against one handler that serves the
// whole organisation: the management account lists the accounts, assumes a
// role in one of them, and the EC2 client built from the assumed
// credentials, for another Region, reaches that account/Region's EC2.
func TestWireOrganizationWithTheSDK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org := newOrg(t, func(o *fake.OrganizationOptions) { o.EC2 = func(o *fake.Options) { o.ApplyDelay = 0 } })
		dev := region(t, org, devID, "eu-west-1")
		seeded, err := dev.EC2().Launch(3, func(o *fake.LaunchOptions) { o.Tags = map[string]string{"team": "dev"} })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := region(t, org, mgmtID, "eu-west-1").EC2().Launch(2); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var records []fake.RequestRecord
		cfg := fake.InMemoryConfig(orgHandler(org, func(o *fake.HandlerOptions) {
			o.OnRequest = func(r fake.RequestRecord) { mu.Lock(); records = append(records, r); mu.Unlock() }
		}))

		// The management account discovers the accounts.
		var accounts []string
		for p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{MaxResults: aws.Int32(2)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range out.Accounts {
				accounts = append(accounts, aws.ToString(a.Id)+" "+string(a.State))
			}
		}
		if want := []string{mgmtID + " ACTIVE", prodID + " ACTIVE", devID + " ACTIVE", oldID + " ACTIVE"}; !cmp.Equal(accounts, want) {
			t.Errorf("ListAccounts over the wire: %v, want %v", accounts, want)
		}

		// It assumes dev's role with stscreds and works in eu-west-1.
		stsClient := sts.NewFromConfig(cfg)
		provider := stscreds.NewAssumeRoleProvider(stsClient, "arn:aws:iam::"+devID+":role/Admin", func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "imdsopts"
			o.Duration = 15 * time.Minute
		})
		assumed := cfg.Copy()
		assumed.Region = "eu-west-1"
		assumed.Credentials = aws.NewCredentialsCache(provider)
		client := ec2.NewFromConfig(assumed)
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(out); !cmp.Equal(got, seeded) || aws.ToString(out.Reservations[0].OwnerId) != devID {
			t.Errorf("dev's eu-west-1 over the wire: %v owned by %s, want %v owned by %s", got, aws.ToString(out.Reservations[0].OwnerId), seeded, devID)
		}
		if _, err := client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
			InstanceId: aws.String(seeded[0]), HttpTokens: types.HttpTokensStateRequired}); err != nil {
			t.Fatal(err)
		}
		if got := describe(t, dev.EC2(), seeded[0]).MetadataOptions.HttpTokens; got != types.HttpTokensStateRequired {
			t.Errorf("the change over the wire reached dev's eu-west-1 as %s", got)
		}
		if n := region(t, org, mgmtID, "eu-west-1").EC2().Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Errorf("the management account's eu-west-1 got %d calls of dev's", n)
		}
		who, err := sts.NewFromConfig(assumed).GetCallerIdentity(ctx, nil)
		if err != nil || aws.ToString(who.Account) != devID || aws.ToString(who.Arn) != "arn:aws:sts::"+devID+":assumed-role/Admin/imdsopts" {
			t.Errorf("GetCallerIdentity with the assumed credentials: %+v, %v", who, err)
		}
		regions, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		if err != nil || len(regions.Regions) != 17 {
			t.Errorf("DescribeRegions of dev: %d, %v", len(regions.Regions), err)
		}

		// A Region not enabled for dev answers as EC2 answers an account
		// that has not opted into it.
		optIn := assumed.Copy()
		optIn.Region = "af-south-1"
		_, err = ec2.NewFromConfig(optIn, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if got := describeErr(err); got != "EC2 DescribeInstances HTTP 401 AuthFailure: AWS was not able to validate the provided access credentials" {
			t.Errorf("a Region dev has not opted into: %s", got)
		}

		// The credentials expire, and the SDK's cache assumes the role
		// again, through the fake STS.
		time.Sleep(20 * time.Minute)
		if _, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatalf("after the first credentials expired: %v", err)
		}
		if n := org.STS().Calls("AssumeRole"); n != 2 {
			t.Errorf("AssumeRole called %d times, want 2 (the first credentials expired)", n)
		}
		mu.Lock()
		defer mu.Unlock()
		var routed []string
		for _, r := range records {
			routed = append(routed, fmt.Sprintf("%s %s %s %s", r.Service, r.Action, r.Account, r.Region))
		}
		for _, want := range []string{
			"Organizations ListAccounts " + mgmtID + " us-east-1",
			"STS AssumeRole " + mgmtID + " us-east-1",
			"EC2 DescribeInstances " + devID + " eu-west-1",
			"STS GetCallerIdentity " + devID + " eu-west-1",
		} {
			if !strings.Contains(strings.Join(routed, "\n"), want) {
				t.Errorf("no request recorded as %q in\n%s", want, strings.Join(routed, "\n"))
			}
		}
	})
}

// authorization is a SigV4 Authorization header for key, Region and
// service; the signature is not checked.
func authorization(key, region, service string) string {
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/20260101/%s/%s/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd", key, region, service)
}

// Requests whose credentials do not reach an account/Region, answered in
// each service's words.
func TestWireOrganizationAuthErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org := newOrg(t)
		h := orgHandler(org)
		tokens := map[string]string{} // the session token of each key
		key := func(id string, d int32) string {
			c := credsOf(assume(t, org.STS(), id, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(d) }))
			tokens[c.AccessKeyID] = c.SessionToken
			return c.AccessKeyID
		}
		expired, live, removed := key(devID, 900), key(devID, 3600), key(oldID, 3600)
		time.Sleep(16 * time.Minute)
		if err := org.RemoveAccount(oldID); err != nil {
			t.Fatal(err)
		}
		const (
			ec2Body = "Action=DescribeInstances&Version=2016-11-15"
			asBody  = "Action=DescribeAutoScalingGroups&Version=2011-01-01"
			stsBody = "Action=GetCallerIdentity&Version=2011-06-15"
		)
		cwJSON := http.Header{"X-Amz-Target": {"GraniteServiceVersion20100801.GetMetricData"}, "Content-Type": {"application/x-amz-json-1.0"}}
		orgsJSON := http.Header{"X-Amz-Target": {"AWSOrganizationsV20161128.ListAccounts"}, "Content-Type": {"application/x-amz-json-1.1"}}
		for _, tt := range []struct {
			name, auth string
			header     http.Header
			body       string
			status     int
			code       string
			// token is the X-Amz-Security-Token sent; "session" for the
			// token of the session whose key auth names.
			token string
		}{
			{"EC2 session key without its token", authorization(live, "us-east-1", "ec2"), nil, ec2Body, 401, "AuthFailure", ""},
			{"EC2 session key with another token", authorization(live, "us-east-1", "ec2"), nil, ec2Body, 401, "AuthFailure", "x"},
			{"EC2 management key with a token", authorization("test", "us-east-1", "ec2"), nil, ec2Body, 401, "AuthFailure", "x"},
			{"STS session key without its token", authorization(live, "us-east-1", "sts"), nil, stsBody, 403, "InvalidClientTokenId", ""},
			{"EC2 unknown key", authorization("AKIAIOSFODNN7EXAMPLE", "us-east-1", "ec2"), nil, ec2Body, 401, "AuthFailure", ""},
			{"EC2 expired", authorization(expired, "us-east-1", "ec2"), nil, ec2Body, 400, "RequestExpired", "session"},
			{"EC2 Region not enabled", authorization(live, "af-south-1", "ec2"), nil, ec2Body, 401, "AuthFailure", "session"},
			{"EC2 unknown Region", authorization(live, "us-east-9", "ec2"), nil, ec2Body, 403, "SignatureDoesNotMatch", "session"},
			{"EC2 removed account", authorization(removed, "us-east-1", "ec2"), nil, ec2Body, 401, "AuthFailure", "session"},
			{"EC2 scoped to another service", authorization(live, "us-east-1", "sts"), nil, ec2Body, 403, "SignatureDoesNotMatch", "session"},
			{"EC2 malformed", "AWS4-HMAC-SHA256 Credential=x", nil, ec2Body, 400, "IncompleteSignature", ""},
			{"EC2 other algorithm", "AWS4-ECDSA-P256-SHA256 Credential=x/20260101/ec2/aws4_request, SignedHeaders=host, Signature=00", nil, ec2Body, 400, "IncompleteSignature", ""},
			{"Auto Scaling unknown key", authorization("AKIAIOSFODNN7EXAMPLE", "us-east-1", "autoscaling"), nil, asBody, 403, "InvalidClientTokenId", ""},
			{"Auto Scaling expired", authorization(expired, "us-east-1", "autoscaling"), nil, asBody, 403, "ExpiredToken", "session"},
			{"Auto Scaling Region not enabled", authorization(live, "af-south-1", "autoscaling"), nil, asBody, 403, "InvalidClientTokenId", "session"},
			{"CloudWatch unknown key", authorization("AKIAIOSFODNN7EXAMPLE", "us-east-1", "monitoring"), cwJSON, `{}`, 403, "InvalidClientTokenId", ""},
			{"CloudWatch expired", authorization(expired, "us-east-1", "monitoring"), cwJSON, `{}`, 403, "ExpiredToken", "session"},
			{"STS unknown key", authorization("AKIAIOSFODNN7EXAMPLE", "us-east-1", "sts"), nil, stsBody, 403, "InvalidClientTokenId", ""},
			{"STS expired", authorization(expired, "us-east-1", "sts"), nil, stsBody, 403, "ExpiredToken", "session"},
			{"STS removed account", authorization(removed, "us-east-1", "sts"), nil, stsBody, 403, "InvalidClientTokenId", "session"},
			{"STS unknown Region", authorization(live, "mars-1", "sts"), nil, stsBody, 403, "SignatureDoesNotMatch", "session"},
			{"Organizations unknown key", authorization("AKIAIOSFODNN7EXAMPLE", "us-east-1", "organizations"), orgsJSON, `{}`, 400, "UnrecognizedClientException", ""},
			{"Organizations expired", authorization(expired, "us-east-1", "organizations"), orgsJSON, `{}`, 400, "ExpiredTokenException", "session"},
			{"Organizations member account", authorization(live, "us-east-1", "organizations"), orgsJSON, `{}`, 400, "AccessDeniedException", "session"},
		} {
			hd := http.Header{"Authorization": {tt.auth}}
			for k, v := range tt.header {
				hd[k] = v
			}
			switch {
			case tt.token == "session":
				for k, tok := range tokens {
					if strings.Contains(tt.auth, "Credential="+k+"/") {
						hd.Set("X-Amz-Security-Token", tok)
					}
				}
			case tt.token != "":
				hd.Set("X-Amz-Security-Token", tt.token)
			}
			resp := post(t, h, "POST", "/", hd, tt.body)
			body := readAll(t, resp)
			got := ""
			if tt.header != nil {
				var doc struct {
					Type string `json:"__type"`
				}
				if err := json.Unmarshal([]byte(body), &doc); err != nil {
					t.Fatalf("%s: %v: %s", tt.name, err, body)
				}
				got = doc.Type
			} else if _, rest, ok := strings.Cut(body, "<Code>"); ok {
				got, _, _ = strings.Cut(rest, "</Code>")
			}
			if resp.StatusCode != tt.status || got != tt.code {
				t.Errorf("%s: HTTP %d %s, want HTTP %d %s\n%s", tt.name, resp.StatusCode, got, tt.status, tt.code, body)
			}
		}

		// Unsigned requests go to the handler's own fakes: the management
		// account's us-east-1, and STS as its user.
		resp := post(t, h, "POST", "/", nil, stsBody)
		if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "<Account>"+mgmtID+"</Account>") {
			t.Errorf("unsigned GetCallerIdentity: HTTP %d\n%s", resp.StatusCode, body)
		}
		// The live session reaches dev's Regions.
		resp = post(t, h, "POST", "/", http.Header{"Authorization": {authorization(live, "ap-south-1", "sts")}, "X-Amz-Security-Token": {tokens[live]}}, stsBody)
		if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "<Account>"+devID+"</Account>") {
			t.Errorf("GetCallerIdentity of dev's session: HTTP %d\n%s", resp.StatusCode, body)
		}
	})
}

// Without an Organization the handler does not read the Authorization
// header: every request goes to its fakes, whatever the key and Region.
func TestWireWithoutOrganizationIgnoresSignatures(t *testing.T) {
	f := fake.New()
	h := fake.NewHandler(f)
	for _, auth := range []string{authorization("AKIAIOSFODNN7EXAMPLE", "eu-west-1", "ec2"), "garbage"} {
		resp := post(t, h, "POST", "/", http.Header{"Authorization": {auth}}, "Action=DescribeInstances&Version=2016-11-15")
		if resp.StatusCode != 200 {
			t.Errorf("%s: HTTP %d\n%s", auth, resp.StatusCode, readAll(t, resp))
		}
	}
	resp := post(t, h, "POST", "/", nil, "Action=GetCallerIdentity&Version=2011-06-15")
	if body := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Errorf("STS without an Organization: HTTP %d\n%s", resp.StatusCode, body)
	}
}

// stsTwin drives two identical organisations, one called directly and one
// through the handler by the SDK's STS and Organizations clients.
type stsTwin struct {
	*twin
	direct, served *fake.Organization
	sts            *sts.Client
	orgs           *organizations.Client
}

func stsSame[In, Out any](tw *stsTwin, name string, direct, wire func(context.Context, *In) (*Out, error), in *In) *Out {
	tw.t.Helper()
	want, wantErr := direct(ctx, in)
	got, gotErr := wire(ctx, in)
	tw.compare(name, want, wantErr, got, gotErr)
	return want
}

func TestWireSTSAndOrganizationsAnswerAsTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tw := &stsTwin{twin: &twin{t: t}, direct: newOrg(t), served: newOrg(t)}
		cfg := sdkConfig(orgHandler(tw.served))
		tw.sts = sts.NewFromConfig(cfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
		tw.orgs = organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.RetryMaxAttempts = 1 })
		for _, org := range []*fake.Organization{tw.direct, tw.served} {
			if err := org.SuspendAccount(oldID); err != nil {
				t.Fatal(err)
			}
		}
		assumeRole := func(in *sts.AssumeRoleInput) {
			stsSame(tw, "AssumeRole "+aws.ToString(in.RoleArn), func(c context.Context, in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
				return tw.direct.STS().AssumeRole(c, in)
			}, func(c context.Context, in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
				return tw.sts.AssumeRole(c, in)
			}, in)
		}
		arn := func(id string) *string { return aws.String("arn:aws:iam::" + id + ":role/Admin") }
		for _, in := range []*sts.AssumeRoleInput{
			{RoleArn: arn(devID), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(1800), SourceIdentity: aws.String("me")},
			{RoleArn: arn(prodID), RoleSessionName: aws.String("s1"), ExternalId: aws.String("ext-1"),
				Tags: []ststypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}, Policy: aws.String(`{"Version":"2012-10-17"}`)},
			{RoleArn: arn(prodID), RoleSessionName: aws.String("s1")},
			{RoleArn: arn(oldID), RoleSessionName: aws.String("s1")},
			{RoleArn: aws.String("arn:aws:iam::x:role/Admin/x/y"), RoleSessionName: aws.String("s1")},
			{RoleArn: arn(devID), RoleSessionName: aws.String("a b")},
			{RoleArn: arn(devID), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(100000)},
		} {
			assumeRole(in)
		}
		stsSame(tw, "GetCallerIdentity", func(c context.Context, in *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
			return tw.direct.STS().GetCallerIdentity(c, in)
		}, func(c context.Context, in *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
			return tw.sts.GetCallerIdentity(c, in)
		}, &sts.GetCallerIdentityInput{})
		tw.direct.STS().FailNext("GetCallerIdentity", 1, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
		tw.served.STS().FailNext("GetCallerIdentity", 1, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
		stsSame(tw, "GetCallerIdentity throttled", func(c context.Context, in *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
			return tw.direct.STS().GetCallerIdentity(c, in)
		}, func(c context.Context, in *sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
			return tw.sts.GetCallerIdentity(c, in)
		}, &sts.GetCallerIdentityInput{})

		list := func(name string, in *organizations.ListAccountsInput) *organizations.ListAccountsOutput {
			return stsSame(tw, name, func(c context.Context, in *organizations.ListAccountsInput) (*organizations.ListAccountsOutput, error) {
				return tw.direct.Organizations().ListAccounts(c, in)
			}, func(c context.Context, in *organizations.ListAccountsInput) (*organizations.ListAccountsOutput, error) {
				return tw.orgs.ListAccounts(c, in)
			}, in)
		}
		page := list("ListAccounts", &organizations.ListAccountsInput{MaxResults: aws.Int32(3)})
		list("ListAccounts page 2", &organizations.ListAccountsInput{MaxResults: aws.Int32(3), NextToken: page.NextToken})
		list("ListAccounts MaxResults 21", &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
		list("ListAccounts bad token", &organizations.ListAccountsInput{NextToken: aws.String("x")})

		// The typed errors of Organizations keep their members.
		_, err := tw.orgs.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("x")})
		var bad *orgtypes.InvalidInputException
		if !errors.As(err, &bad) || bad.Reason != orgtypes.InvalidInputExceptionReasonInvalidPaginationToken {
			t.Errorf("InvalidInputException over the wire: %v", err)
		}
	})
}

// Many SDK clients of different accounts and Regions at once, over real
// HTTP, each through stscreds (run with -race).
func TestServerOrganizationConcurrentClients(t *testing.T) {
	org := newOrg(t, func(o *fake.OrganizationOptions) { o.EC2 = func(o *fake.Options) { o.ApplyDelay = 0 } })
	type work struct{ account, region string }
	var jobs []work
	for _, id := range []string{prodID, devID, oldID} {
		for _, name := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
			if _, err := region(t, org, id, name).EC2().Launch(4); err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, work{id, name})
		}
	}
	home := region(t, org, mgmtID, "us-east-1")
	srv, err := fake.NewServer(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = org })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var wg sync.WaitGroup
	for _, j := range jobs {
		for n := range 2 {
			wg.Go(func() {
				cfg := srv.Config()
				provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::"+j.account+":role/Admin", func(o *stscreds.AssumeRoleOptions) {
					if j.account == prodID {
						o.ExternalID = aws.String("ext-1")
					}
				})
				cfg.Region, cfg.Credentials = j.region, aws.NewCredentialsCache(provider)
				client := ec2.NewFromConfig(cfg)
				out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
				if err != nil {
					t.Error(err)
					return
				}
				id := ids(out)[n]
				if _, err := client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
					InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateRequired}); err != nil {
					t.Error(err)
				}
				if _, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, nil); err != nil {
					t.Error(err)
				}
				if _, err := cloudwatch.NewFromConfig(cfg).GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), noToken("a", id, "Sum", 60))); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	for _, j := range jobs {
		f := region(t, org, j.account, j.region).EC2()
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != 2 {
			t.Errorf("%s %s: %d modifies, want 2", j.account, j.region, n)
		}
		if n := region(t, org, j.account, j.region).AutoScaling().Calls("DescribeAutoScalingGroups"); n != 2 {
			t.Errorf("%s %s: %d Auto Scaling calls, want 2", j.account, j.region, n)
		}
	}
	if n := home.EC2().Calls("ModifyInstanceMetadataOptions"); n != 0 {
		t.Errorf("the management account got %d of the members' calls", n)
	}
}

// A client with credentials the organisation does not know.
func TestWireUnknownCredentialsWithTheSDK(t *testing.T) {
	org := newOrg(t)
	cfg := sdkConfig(orgHandler(org))
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", "")
	_, err := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if got := describeErr(err); got != "EC2 DescribeInstances HTTP 401 AuthFailure: AWS was not able to validate the provided access credentials" {
		t.Errorf("EC2: %s", got)
	}
	_, err = stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 }), "arn:aws:iam::"+devID+":role/Admin").Retrieve(ctx)
	if got := describeErr(err); got != "STS AssumeRole HTTP 403 InvalidClientTokenId: The security token included in the request is invalid." {
		t.Errorf("STS: %s", got)
	}
	_, err = organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.RetryMaxAttempts = 1 }).ListAccounts(ctx, nil)
	var unrecognized interface{ ErrorCode() string }
	if !errors.As(err, &unrecognized) || unrecognized.ErrorCode() != "UnrecognizedClientException" || status(err) != 400 {
		t.Errorf("Organizations: %v", err)
	}
}

// InMemoryConfig's client hands requests to the handler and answers what
// it writes; a canceled request is not sent.
func TestInMemoryConfig(t *testing.T) {
	var got *http.Request
	cfg := fake.InMemoryConfig(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK) // ignored, as by net/http
			return
		}
		w.Write([]byte("hello"))
	}))
	if cfg.Region != "us-east-1" || cfg.HTTPClient == nil {
		t.Fatalf("%+v", cfg)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != fake.ManagementAccessKeyID {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{{"/", 200, "hello"}, {"/teapot", 418, ""}} {
		r, _ := http.NewRequest("POST", aws.ToString(cfg.BaseEndpoint)+tt.path, strings.NewReader("x"))
		resp, err := cfg.HTTPClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != tt.status || body != tt.body || resp.ContentLength != int64(len(tt.body)) || got != r {
			t.Errorf("%s: HTTP %d %q (length %d)", tt.path, resp.StatusCode, body, resp.ContentLength)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	got = nil
	r, _ := http.NewRequestWithContext(canceled, "POST", aws.ToString(cfg.BaseEndpoint), nil)
	if _, err := cfg.HTTPClient.Do(r); !errors.Is(err, context.Canceled) || got != nil {
		t.Errorf("a canceled request: %v, handled %v", err, got != nil)
	}
}
