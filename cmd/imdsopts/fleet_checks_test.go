package main

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// A change EC2 would refuse as it is is named by plan, not sent by apply,
// and exits as EC2's refusal would: 254.
func TestCannotApplyExits254(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		node := e.launch(t, required, "env=prod", "kubernetes.io/cluster/prod=owned")
		web := e.launch(t, required, "env=prod")
		args := []string{"--tags", "env=prod", "--instance-metadata-tags", "enabled", "--allow-downgrade"}
		r := e.run(t, t.Context(), false, append([]string{"plan"}, args...)...)
		wantCode(t, r, exitService)
		it := items(t, r.stdout)
		if it[node]["Status"] != "cannot-apply" || !strings.Contains(it[node]["Error"].(string), `"kubernetes.io/cluster/prod"`) {
			t.Errorf("node: %v", it[node])
		}
		if it[web]["Status"] != "change" {
			t.Errorf("web: %v", it[web])
		}
		if !strings.Contains(r.stderr, "1 of 2 instance(s) cannot be changed as they are (EC2 would refuse it)") {
			t.Errorf("stderr %q", r.stderr)
		}
		if counts := parseJSON(t, r.stdout).(map[string]any)["Counts"].(map[string]any); counts["cannot-apply"] != 1.0 {
			t.Errorf("counts %v", counts)
		}

		r = e.run(t, t.Context(), false, append([]string{"apply"}, args...)...)
		wantCode(t, r, exitService)
		if st := statuses(t, r.stdout); st[node] != "cannot-apply" || st[web] != "applied" {
			t.Errorf("apply: %v", st)
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 1 {
			t.Errorf("%d calls, want 1: none for the node", n)
		}
		if !strings.Contains(r.stderr, "1 instance(s) not changed: EC2 would refuse the change as it is") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

func TestContainerHopLimitFlag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		hop1 := &types.InstanceMetadataOptionsRequest{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)}
		node := e.launch(t, hop1, "env=prod", "eks:cluster-name=prod", "eks:nodegroup-name=ng-1", "aws:autoscaling:groupName=eks-ng-1")
		web := e.launch(t, hop1, "env=prod")

		r := e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK) // a held container host is an outcome, as one held for IMDSv1 use
		it := items(t, r.stdout)
		if it[node]["Status"] != "held" || it[node]["Container"] != "tag eks:cluster-name" ||
			!strings.Contains(it[node]["Error"].(string), "(--container-hop-limit 2)") {
			t.Errorf("node: %v", it[node])
		}
		owner, _ := it[node]["Owner"].(map[string]any)
		if owner["Kind"] != "eks-nodegroup" || owner["Name"] != "ng-1" || !strings.Contains(owner["Fix"].(string), "the node group's launch template") {
			t.Errorf("owner: %v", owner)
		}
		if _, ok := it[web]["Owner"]; ok || it[web]["Status"] != "change" {
			t.Errorf("web: %v", it[web])
		}

		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required", "--container-hop-limit", "2", "--output", "text")
		wantCode(t, r, exitOK)
		for _, want := range []string{"OWNER", "eks-nodegroup/ng-1", "HttpPutResponseHopLimit 2 (--container-hop-limit)",
			"Owners (a change made in place is undone", "eks-nodegroup ng-1 (1 instance): the node group's launch template"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text lacks %q:\n%s", want, r.stdout)
			}
		}
		if got := currentOptions(t, e.ec2, node); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 {
			t.Errorf("node after apply: %+v", got)
		}
		if got := currentOptions(t, e.ec2, web); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 1 {
			t.Errorf("web after apply: %+v", got)
		}

		var nilEnv *fleetEnv
		for _, bad := range []string{"1", "65", "-1", "x"} {
			r := nilEnv.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--container-hop-limit", bad)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, "--container-hop-limit") {
				t.Errorf("%s: stderr %q", bad, r.stderr)
			}
		}
	})
}
