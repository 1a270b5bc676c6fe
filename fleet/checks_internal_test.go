package fleet

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/hosts"
)

// opts are an instance's options: tokens, hop limit, endpoint and tags.
func opts(tokens string, hop int32, endpoint, tags string) *types.InstanceMetadataOptionsResponse {
	return &types.InstanceMetadataOptionsResponse{HttpTokens: types.HttpTokensState(tokens), HttpPutResponseHopLimit: aws.Int32(hop),
		HttpEndpoint: types.InstanceMetadataEndpointState(endpoint), HttpProtocolIpv6: types.InstanceMetadataProtocolStateDisabled,
		InstanceMetadataTags: types.InstanceMetadataTagsState(tags), State: types.InstanceMetadataOptionsStateApplied}
}

func TestPlanItemChecks(t *testing.T) {
	must := func(o ...imdsopts.Option) imdsopts.Set {
		s, err := imdsopts.New(o...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tokens := must(imdsopts.HTTPTokens(types.HttpTokensStateRequired))
	imdsv2 := must(imdsopts.RequireIMDSv2())
	eks := map[string]string{"eks:cluster-name": "prod", "kubernetes.io/cluster/prod": "owned"}
	plain := map[string]string{"Name": "web"}
	for _, tc := range []struct {
		name      string
		cur       *types.InstanceMetadataOptionsResponse
		tags      map[string]string
		container string // set by user data
		state     types.InstanceStateName
		set       imdsopts.Set
		hopLimit  int32 // Options.ContainerHopLimit
		allow     bool  // Options.AllowDowngrade
		status    Status
		err       error
		changes   imdsopts.Set
		text      string // a part of Err
	}{
		// Containers behind hop limit 1.
		{name: "a container host made to require tokens with hop limit 1", cur: opts("optional", 1, "enabled", "disabled"), tags: eks, set: imdsv2,
			status: StatusHeld, err: ErrContainerHopLimit, changes: must(imdsopts.HTTPTokens("required")), text: "a container host (tag eks:cluster-name)"},
		{name: "one shown by its user data", cur: opts("optional", 1, "enabled", "disabled"), tags: plain, container: "user data of x: /etc/eks/bootstrap.sh",
			set: tokens, status: StatusHeld, err: ErrContainerHopLimit, changes: tokens, text: "/etc/eks/bootstrap.sh"},
		{name: "a stopped one", cur: opts("optional", 1, "enabled", "disabled"), tags: eks, state: types.InstanceStateNameStopped, set: tokens,
			status: StatusHeld, err: ErrContainerHopLimit, changes: tokens},
		{name: "its hop limit lowered to 1", cur: opts("required", 2, "enabled", "disabled"), tags: eks, set: must(imdsopts.HopLimit(1)),
			status: StatusHeld, err: ErrContainerHopLimit, changes: must(imdsopts.HopLimit(1))},
		{name: "a container host with hop limit 2", cur: opts("optional", 2, "enabled", "disabled"), tags: eks, set: imdsv2,
			status: StatusChange, changes: tokens},
		{name: "not a container host", cur: opts("optional", 1, "enabled", "disabled"), tags: plain, set: imdsv2, status: StatusChange, changes: tokens},
		{name: "a change that leaves tokens alone", cur: opts("required", 1, "enabled", "disabled"), tags: eks,
			set: must(imdsopts.InstanceMetadataTags("disabled")), status: StatusSatisfied},
		{name: "ContainerHopLimit: the hop limit in the same change", cur: opts("optional", 1, "enabled", "disabled"), tags: eks, set: imdsv2, hopLimit: 2,
			status: StatusChange, changes: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2))},
		{name: "ContainerHopLimit on a stopped one", cur: opts("optional", 1, "enabled", "disabled"), tags: eks, state: types.InstanceStateNameStopped,
			set: tokens, hopLimit: 2, status: StatusPendingStart, changes: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2))},
		{name: "ContainerHopLimit: one that requires tokens already", cur: opts("required", 1, "enabled", "disabled"), tags: eks, set: imdsv2, hopLimit: 2,
			status: StatusChange, changes: must(imdsopts.HopLimit(2))},
		{name: "ContainerHopLimit over the Set's hop limit", cur: opts("optional", 2, "enabled", "disabled"), tags: eks,
			set: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(1)), hopLimit: 2, status: StatusChange, changes: tokens},
		{name: "ContainerHopLimit 3", cur: opts("optional", 2, "enabled", "disabled"), tags: eks, set: tokens, hopLimit: 3,
			status: StatusChange, changes: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(3))},
		{name: "ContainerHopLimit leaves others alone", cur: opts("optional", 1, "enabled", "disabled"), tags: plain, set: tokens, hopLimit: 2,
			status: StatusChange, changes: tokens},
		{name: "ContainerHopLimit is no leave for other downgrades", cur: opts("optional", 1, "enabled", "disabled"), tags: eks,
			set: must(imdsopts.HTTPTokens("required"), imdsopts.InstanceMetadataTags("enabled")), hopLimit: 2,
			status: StatusCannotApply, err: ErrTagKeys, changes: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2), imdsopts.InstanceMetadataTags("enabled"))},
		{name: "a Set's own hop limit is still a downgrade", cur: opts("optional", 1, "enabled", "disabled"), tags: eks,
			set: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(3)), hopLimit: 2, status: StatusRefused, err: imdsopts.ErrDowngrade,
			changes: must(imdsopts.HTTPTokens("required"), imdsopts.HopLimit(3))},

		// Tag keys.
		{name: "tags on with keys EC2 refuses", cur: opts("required", 2, "enabled", "disabled"), tags: eks, set: must(imdsopts.InstanceMetadataTags("enabled")),
			allow: true, status: StatusCannotApply, err: ErrTagKeys, changes: must(imdsopts.InstanceMetadataTags("enabled")),
			text: `"kubernetes.io/cluster/prod"`},
		{name: "refused keys, before the downgrade", cur: opts("required", 2, "enabled", "disabled"), tags: map[string]string{"Cost Center": "1"},
			set: must(imdsopts.InstanceMetadataTags("enabled")), status: StatusCannotApply, err: ErrTagKeys, changes: must(imdsopts.InstanceMetadataTags("enabled")),
			text: `"Cost Center"`},
		{name: "tags on with keys EC2 takes", cur: opts("required", 2, "enabled", "disabled"), tags: plain, set: must(imdsopts.InstanceMetadataTags("enabled")),
			allow: true, status: StatusChange, changes: must(imdsopts.InstanceMetadataTags("enabled"))},
		{name: "tags on already", cur: opts("required", 2, "enabled", "enabled"), tags: eks, set: must(imdsopts.InstanceMetadataTags("enabled")),
			status: StatusSatisfied},
		{name: "tags off", cur: opts("required", 2, "enabled", "enabled"), tags: eks, set: must(imdsopts.InstanceMetadataTags("disabled")),
			status: StatusChange, changes: must(imdsopts.InstanceMetadataTags("disabled"))},

		// The endpoint disabled.
		{name: "tokens on a disabled endpoint", cur: opts("optional", 1, "disabled", "disabled"), tags: plain, set: tokens, allow: true,
			status: StatusCannotApply, err: ErrEndpointDisabled, changes: tokens, text: "add HttpEndpoint \"enabled\""},
		{name: "the hop limit on a disabled endpoint", cur: opts("required", 1, "disabled", "disabled"), tags: plain, set: must(imdsopts.HopLimit(2)), allow: true,
			status: StatusCannotApply, err: ErrEndpointDisabled, changes: must(imdsopts.HopLimit(2))},
		{name: "IPv6 on a disabled endpoint", cur: opts("required", 1, "disabled", "disabled"), tags: plain, set: must(imdsopts.HTTPProtocolIPv6("disabled")),
			status: StatusSatisfied},
		{name: "tokens satisfied on a disabled endpoint", cur: opts("required", 1, "disabled", "disabled"), tags: plain, set: tokens, status: StatusSatisfied},
		{name: "RequireIMDSv2 on a disabled endpoint", cur: opts("optional", 1, "disabled", "disabled"), tags: plain, set: imdsv2,
			status: StatusRefused, err: imdsopts.ErrDowngrade, changes: imdsv2, text: "its metadata endpoint is disabled"},
		{name: "RequireIMDSv2 on a disabled endpoint, allowed", cur: opts("optional", 1, "disabled", "disabled"), tags: plain, set: imdsv2, allow: true,
			status: StatusChange, changes: imdsv2},
		{name: "RequireIMDSv2 on a disabled endpoint of a container host", cur: opts("optional", 1, "disabled", "disabled"), tags: eks, set: imdsv2,
			allow: true, status: StatusHeld, err: ErrContainerHopLimit, changes: imdsv2},
		{name: "the endpoint turned off with tokens", cur: opts("optional", 1, "enabled", "disabled"), tags: plain,
			set: must(imdsopts.HTTPTokens("required"), imdsopts.HTTPEndpoint("disabled")), status: StatusCannotApply, err: ErrEndpointDisabled,
			changes: must(imdsopts.HTTPTokens("required"), imdsopts.HTTPEndpoint("disabled")), text: "change HttpEndpoint alone"},
		{name: "the endpoint turned off, tokens satisfied", cur: opts("required", 1, "enabled", "disabled"), tags: plain,
			set: must(imdsopts.HTTPTokens("required"), imdsopts.HTTPEndpoint("disabled")), status: StatusChange, changes: must(imdsopts.HTTPEndpoint("disabled"))},
		{name: "the endpoint turned off: no container to cut off", cur: opts("required", 1, "enabled", "disabled"), tags: eks,
			set: must(imdsopts.HTTPEndpoint("disabled")), hopLimit: 2, status: StatusChange, changes: must(imdsopts.HTTPEndpoint("disabled"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := Item{InstanceID: "i-0123456789abcdef0", InstanceState: types.InstanceStateNameRunning, Options: tc.cur,
				host: &hostFacts{tags: tc.tags}}
			if tc.state != "" {
				it.InstanceState = tc.state
			}
			it.Container = hosts.ContainerTag(tc.tags)
			if tc.container != "" {
				it.Container = tc.container
			}
			o := defaultFleetOptions()
			o.ContainerHopLimit, o.AllowDowngrade = tc.hopLimit, tc.allow
			planItem(&it, tc.set, &o)
			if it.Status != tc.status || !errors.Is(it.Err, tc.err) || tc.err == nil && it.Err != nil {
				t.Errorf("status %v, %v; want %v, %v", it.Status, it.Err, tc.status, tc.err)
			}
			if it.Changes != tc.changes {
				t.Errorf("changes %v, want %v", it.Changes, tc.changes)
			}
			if tc.text != "" && (it.Err == nil || !strings.Contains(it.Err.Error(), tc.text)) {
				t.Errorf("error %v, want one that says %q", it.Err, tc.text)
			}
			if tc.hopLimit != 0 && it.Changes.HopLimit() == tc.hopLimit && it.Downgrade.HopLimit() != 0 {
				t.Errorf("Downgrade %v: ContainerHopLimit's hop limit is accepted", it.Downgrade)
			}
		})
	}
}
