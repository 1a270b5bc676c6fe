package account_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// mustDefaults is NewDefaults(s, opts...), which must succeed.
func mustDefaults(t testing.TB, s imdsopts.Set, opts ...account.DefaultsOption) account.Defaults {
	t.Helper()
	d, err := account.NewDefaults(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mustSet is imdsopts.New(opts...), which must succeed.
func mustSet(t testing.TB, opts ...imdsopts.Option) imdsopts.Set {
	t.Helper()
	s, err := imdsopts.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kinds lists the kinds and subjects of blockers, one a line, in order.
func kinds(bs []account.Blocker) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, string(b.Kind)+" "+b.Subject())
	}
	return out
}

// world is an account on the fakes (see testenv.World), with the clients
// the account operations take.
type world struct{ *testenv.World }

func newWorld(t testing.TB, optFns ...func(*fake.Options)) *world {
	t.Helper()
	return &world{testenv.NewWorld(t, optFns...)}
}

func (w *world) clients() account.Clients {
	return account.Clients{EC2: w.EC2, AutoScaling: w.AS, CloudWatch: w.CW, Target: account.Target{Account: fake.AccountID, Region: "us-east-1"}}
}

// tokens is template MetadataOptions giving only HttpTokens ("" gives
// none).
func tokens(v types.LaunchTemplateHttpTokensState) *types.LaunchTemplateInstanceMetadataOptionsRequest {
	if v == "" {
		return nil
	}
	return &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: v}
}
