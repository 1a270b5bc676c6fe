package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/fake"
)

// runEmbedded runs the command against an emulator started in the
// process (--emulator), as a person runs it.
func runEmbedded(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, noEnv)
	return result{code, stdout.String(), stderr.String()}
}

// The built-in account of EKS, Karpenter, ECS, Elastic Beanstalk and
// CloudFormation instances: posture names its container hosts, the tag
// keys EC2 refuses in the metadata and the owners, and plan holds the
// container hosts a change would cut off and names what EC2 would refuse.
func TestContainersAccount(t *testing.T) {
	seed, err := fake.BuiltinSeed("containers")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(seed.AutoScalingGroups); n != 4 {
		t.Fatalf("%d groups", n)
	}

	r := runEmbedded(t, "posture", "--emulator", "--emulator-seed-account", "containers")
	wantCode(t, r, exitNotReady)
	var p struct {
		ContainerHosts []struct{ InstanceId, Signal string }
		Owners         []struct {
			Kind, Name, Fix string
			InstanceIds     []string
		}
		Blockers []struct {
			Kind                  string
			AutoScalingGroupNames []string
			TagKeys               []string
			InstanceIds           []string
			Reason, Fix           string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	signals := map[string]int{}
	for _, h := range p.ContainerHosts {
		signals[h.Signal]++
	}
	// 3 + 3 EKS managed nodes, 3 Karpenter nodes, 2 ECS container instances.
	want := map[string]int{"tag eks:cluster-name": 6, "tag eks:eks-cluster-name": 3, "tag AmazonECSManaged": 2}
	if len(signals) != len(want) {
		t.Errorf("container hosts by signal %v, want %v", signals, want)
	}
	for s, n := range want {
		if signals[s] != n {
			t.Errorf("container hosts by signal %v, want %v", signals, want)
		}
	}

	var owners []string
	for _, o := range p.Owners {
		owners = append(owners, o.Kind+" "+o.Name+" "+strings.Repeat("*", len(o.InstanceIds)))
	}
	if want := []string{"auto-scaling ecs-jobs **", "cloudformation billing **", "eks-nodegroup general ***", "eks-nodegroup legacy ***",
		"elastic-beanstalk shop-prod **", "karpenter default ***"}; !slices.Equal(owners, want) {
		t.Errorf("owners (a * an instance):\n%s\nwant\n%s", strings.Join(owners, "\n"), strings.Join(want, "\n"))
	}

	byKind := map[string][]string{}
	for _, b := range p.Blockers {
		byKind[b.Kind] = append(byKind[b.Kind], strings.Join(b.AutoScalingGroupNames, ","))
		if b.Kind == "imds-tag-keys" && (!slices.Contains(b.TagKeys, "kubernetes.io/cluster/prod") || len(b.InstanceIds) != 3 ||
			!strings.Contains(b.Reason, "from the account default")) {
			t.Errorf("tag-key blocker: %+v", b)
		}
		// The IMDSv1 calls of container hosts behind hop limit 1 may be
		// their containers' fallback: moving software is not the fix.
		if b.Kind == "imdsv1-in-use" && (!strings.Contains(b.Reason, "so these calls may be theirs") || !strings.HasPrefix(b.Fix, "give them, and what launches them, hop limit 2 first")) {
			t.Errorf("IMDSv1 blocker of container hosts: %+v", b)
		}
	}
	for kind, groups := range map[string][]string{
		"imdsv1-in-use":       {"ecs-jobs", "eks-legacy-7ac6e2b5-1f2e-3d4c-5b6a-79808a9bacbd"},
		"imds-tag-keys":       {"eks-general-20c6e2b5-5d2b-9b54-ba2a-7b4a0c1e7d51", "eks-legacy-7ac6e2b5-1f2e-3d4c-5b6a-79808a9bacbd"},
		"container-hop-limit": {"ecs-jobs", "eks-legacy-7ac6e2b5-1f2e-3d4c-5b6a-79808a9bacbd"},
	} {
		got := slices.Sorted(slices.Values(byKind[kind]))
		if !slices.Equal(got, groups) {
			t.Errorf("%s blockers of groups %q, want %q", kind, got, groups)
		}
	}

	r = runEmbedded(t, "posture", "--emulator", "--emulator-seed-account", "containers", "--output", "text")
	wantCode(t, r, exitNotReady)
	for _, want := range []string{"Container hosts (a container is one network hop further", "tag AmazonECSManaged",
		"Owners of the instances, by what launched them", "elastic-beanstalk  shop-prod", "DisableIMDSv1",
		"imds-tag-keys: launch template eks-general", "container-hop-limit: launch template eks-legacy-nodes"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("posture text lacks %q:\n%s", want, r.stdout)
		}
	}

	// Plan: the legacy node group's and ECS's instances are held as
	// container hosts (not by the gate, whose advice would be wrong), the
	// bastion's endpoint is off, and that is a change EC2 would refuse.
	plan := []string{"plan", "--emulator", "--emulator-seed-account", "containers", "--filters", "Name=instance-state-name,Values=running",
		"--http-tokens", "required"}
	r = runEmbedded(t, plan...)
	wantCode(t, r, exitService)
	counts := map[string]map[string]int{}
	for _, it := range items(t, r.stdout) {
		st, owner := it["Status"].(string), "-"
		if o, ok := it["Owner"].(map[string]any); ok {
			owner = o["Kind"].(string) + " " + o["Name"].(string)
		}
		if counts[owner] == nil {
			counts[owner] = map[string]int{}
		}
		counts[owner][st]++
		if st == "held" && !strings.Contains(it["Error"].(string), "a container host") {
			t.Errorf("held for another reason: %v", it)
		}
		if st == "cannot-apply" && !strings.Contains(it["Error"].(string), "metadata endpoint disabled") {
			t.Errorf("cannot-apply for another reason: %v", it)
		}
	}
	for owner, want := range map[string]map[string]int{
		"eks-nodegroup legacy": {"held": 3}, "auto-scaling ecs-jobs": {"held": 2}, "eks-nodegroup general": {"satisfied": 3},
		"karpenter default": {"satisfied": 3}, "cloudformation billing": {"change": 2}, "elastic-beanstalk shop-prod": {"change": 2},
		"-": {"cannot-apply": 1, "satisfied": 2},
	} {
		for st, n := range want {
			if counts[owner][st] != n || len(counts[owner]) != len(want) {
				t.Errorf("%s: %v, want %v", owner, counts[owner], want)
			}
		}
	}

	// With --container-hop-limit 2 the hold is the gate's, which now says
	// that the IMDSv1 calls may be the containers'.
	r = runEmbedded(t, append(plan, "--container-hop-limit", "2")...)
	wantCode(t, r, exitService)
	for _, it := range items(t, r.stdout) {
		if c, _ := it["Container"].(string); c != "" && it["Status"] == "held" && !strings.Contains(it["Error"].(string), "raise its hop limit to 2 first") {
			t.Errorf("container host held by the gate: %v", it)
		}
	}
}

func TestSeedAccountFlags(t *testing.T) {
	for _, args := range [][]string{
		{"emulator", "--seed-account", "nope"},
		{"emulator", "--seed-account", "containers", "--instances", "3"},
		{"emulator", "--seed-account", "containers", "--seed", "x.json"},
		{"posture", "--emulator-seed-account", "containers"},
		{"posture", "--emulator", "--emulator-seed-account", "containers", "--emulator-seed", "x.json"},
	} {
		r := runFake(t, nil, args...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "seed-account") {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
	}
}
