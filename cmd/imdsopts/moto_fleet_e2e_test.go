//go:build e2e

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// apply over HTTP against moto, with the real EC2 and CloudWatch clients.
func TestE2EMotoFleetApply(t *testing.T) {
	srv := motoserver.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	launch := func(env string) string {
		out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(motoserver.ImageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
				Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String(env)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Instances[0].InstanceId)
	}
	a, b, other := launch("prod"), launch("prod"), launch("dev")
	sdkEnv(t)
	// moto does not serve GetInstanceMetadataDefaults, which apply reads
	// to tell one-way changes; accepted up front, apply does not ask.

	r := runSDK(t, "apply", "--accept-irreversible", "--endpoint-url", srv.URL, "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0")
	wantCode(t, r, exitOK)
	if st := statuses(t, r.stdout); len(st) != 2 || st[a] != "applied" || st[b] != "applied" {
		t.Errorf("statuses %v\n%s", st, r.stdout)
	}
	doc := parseJSON(t, r.stdout).(map[string]any)
	if calls := doc["Calls"].(map[string]any); calls["ModifyInstanceMetadataOptions"] != 2.0 || calls["GetMetricData"] != nil {
		t.Errorf("calls %v", calls)
	}
	for id, want := range map[string]types.HttpTokensState{a: "required", b: "required", other: "optional"} {
		if got := currentOptions(t, client, id); got.HttpTokens != want {
			t.Errorf("%s: moto has %+v, want HttpTokens %s", id, got, want)
		}
	}
	r = runSDK(t, "apply", "--accept-irreversible", "--endpoint-url", srv.URL, "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0", "--query", "Counts.satisfied")
	wantCode(t, r, exitOK)
	if r.stdout != "2\n" {
		t.Errorf("second apply: %q", r.stdout)
	}

	// With the gate on, the CloudWatch client goes to the same endpoint.
	// The SDK's CloudWatch client speaks Smithy RPC v2 CBOR, which moto
	// 5.2.1 does not serve: GetMetricData is answered HTTP 404. The gate
	// fails closed: the instance is held with that error, nothing is
	// changed, and the exit is 254.
	r = runSDK(t, "apply", "--accept-irreversible", "--endpoint-url", srv.URL, "--tags", "env=dev", "--http-tokens", "required")
	wantCode(t, r, exitService)
	it := items(t, r.stdout)[other]
	if it["Status"] != "held" || !strings.Contains(it["Error"].(string), "GetMetricData") || !strings.Contains(it["Error"].(string), "404") {
		t.Errorf("item %v", it)
	}
	if calls := parseJSON(t, r.stdout).(map[string]any)["Calls"].(map[string]any); calls["GetMetricData"] != 1.0 || calls["ModifyInstanceMetadataOptions"] != nil {
		t.Errorf("calls %v", calls)
	}
	if got := currentOptions(t, client, other); got.HttpTokens != "optional" {
		t.Errorf("held instance changed: %+v", got)
	}
	if !strings.Contains(r.stderr, "1 of 1 instance(s) held: IMDSv1 use unknown") || strings.Contains(r.stderr, "failed;") {
		t.Errorf("stderr %q", r.stderr)
	}
}
