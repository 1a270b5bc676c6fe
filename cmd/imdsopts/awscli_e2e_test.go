//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/internal/awsclitest"
)

// awsCLI returns the AWS CLI, skipping the test when it is missing
// (failing it when the emulator is required).
func awsCLI(t *testing.T) *awsclitest.CLI {
	t.Helper()
	return awsclitest.Find(t)
}

// runAWS runs the AWS CLI with env and returns what it produced.
func runAWS(t *testing.T, cli *awsclitest.CLI, env []string, args ...string) result {
	t.Helper()
	r, err := cli.Run(env, "", args...)
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return result{r.Code, r.Stdout, r.Stderr}
}

// The same invocations through the AWS CLI and through imdsopts, on one
// moto server, print the same output and leave the same state.
func TestE2EDifferentialAgainstAWSCLI(t *testing.T) {
	t.Parallel()
	awsBin := awsCLI(t)
	srv, client, _, id := motoInstance(t)
	bin := binary(t)
	env := binaryEnv(t)
	invocations := [][]string{
		{"--http-tokens", "required", "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled", "--http-protocol-ipv6", "enabled", "--instance-metadata-tags", "enabled"},
		{"--http-tokens", "required"},
		{"--http-put-response-hop-limit", "3", "--instance-metadata-tags", "enabled"},
		{"--http-tokens", "optional", "--http-endpoint", "enabled", "--query", "InstanceMetadataOptions"},
		{"--http-tokens", "required", "--query", "{state: InstanceMetadataOptions.State, id: InstanceId, values: [InstanceMetadataOptions.HttpTokens, InstanceMetadataOptions.HttpPutResponseHopLimit]}"},
		{"--http-tokens", "required", "--query", "InstanceMetadataOptions.HttpTokens"},
		{"--http-tokens", "required", "--http-put-response-hop-limit", "4", "--output", "text"},
		{"--http-tokens", "optional", "--output", "text", "--query", "InstanceMetadataOptions.[HttpTokens, State]"},
		{"--http-tokens", "required", "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled", "--instance-metadata-tags", "disabled", "--output", "table"},
		{"--http-tokens", "required", "--output", "table"},
		{"--no-dry-run", "--http-tokens", "required"},
	}
	for _, inv := range invocations {
		args := append([]string{"--endpoint-url", srv.URL, "--instance-id", id}, inv...)
		theirs := runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options"}, args...)...)
		theirState := currentOptions(t, client, id)
		ours := execute(t, env, bin, append([]string{"modify-instance-metadata-options"}, args...)...)
		ourState := currentOptions(t, client, id)
		name := strings.Join(inv, " ")
		if theirs.code != 0 || ours.code != 0 {
			t.Errorf("%s: exit codes aws %d, imdsopts %d\naws: %s\nimdsopts: %s", name, theirs.code, ours.code, theirs.stderr, ours.stderr)
			continue
		}
		if ours.stdout != theirs.stdout {
			t.Errorf("%s: outputs differ\naws:\n%s\nimdsopts:\n%s", name, theirs.stdout, ours.stdout)
		}
		if !strings.Contains(name, "--output") && !jsonEqual(t, ours.stdout, theirs.stdout) {
			t.Errorf("%s: JSON values differ", name)
		}
		if !reflect.DeepEqual(theirState, ourState) {
			t.Errorf("%s: state after aws %+v, after imdsopts %+v", name, theirState, ourState)
		}
	}

	// Where imdsopts departs from the AWS CLI: a change that weakens the
	// instance (here HttpTokens required to optional) is refused, nothing
	// sent, unless --allow-downgrade is given; with it, the output is the
	// AWS CLI's.
	required := []string{"--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "required"}
	weaken := []string{"--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "optional"}
	wantCode(t, runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options"}, required...)...), 0)
	refused := execute(t, env, bin, append([]string{"modify-instance-metadata-options"}, weaken...)...)
	if refused.code != exitService || !strings.Contains(refused.stderr, "--allow-downgrade") || currentOptions(t, client, id).HttpTokens != "required" {
		t.Errorf("a weakening change without --allow-downgrade: exit %d, HttpTokens %s\n%s", refused.code, currentOptions(t, client, id).HttpTokens, refused.stderr)
	}
	theirWeaken := runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options"}, weaken...)...)
	wantCode(t, theirWeaken, 0)
	wantCode(t, runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options"}, required...)...), 0)
	allowed := execute(t, env, bin, append([]string{"modify-instance-metadata-options", "--allow-downgrade"}, weaken...)...)
	wantCode(t, allowed, 0)
	if allowed.stdout != theirWeaken.stdout {
		t.Errorf("--allow-downgrade: outputs differ\naws:\n%s\nimdsopts:\n%s", theirWeaken.stdout, allowed.stdout)
	}

	// describe prints what the AWS CLI's describe-instances reports.
	theirs := runAWS(t, awsBin, env, "ec2", "describe-instances", "--endpoint-url", srv.URL, "--instance-ids", id,
		"--query", "Reservations[0].Instances[0].MetadataOptions")
	ours := execute(t, env, bin, "describe", "--endpoint-url", srv.URL, "--instance-id", id, "--query", "InstanceMetadataOptions")
	wantCode(t, theirs, 0)
	wantCode(t, ours, 0)
	if ours.stdout != theirs.stdout {
		t.Errorf("describe differs\naws:\n%s\nimdsopts:\n%s", theirs.stdout, ours.stdout)
	}

	// Errors: the same message, exit 254 (the AWS CLI v1 exits 255).
	missing := []string{"--endpoint-url", srv.URL, "--instance-id", "i-0000000000000dead", "--http-tokens", "required"}
	theirs = runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options"}, missing...)...)
	ours = execute(t, env, bin, append([]string{"modify-instance-metadata-options"}, missing...)...)
	wantCode(t, ours, exitService)
	if theirs.code == 0 || ours.stderr != theirs.stderr {
		t.Errorf("errors differ\naws (%d): %q\nimdsopts: %q", theirs.code, theirs.stderr, ours.stderr)
	}
}

// The input skeleton of either tool is accepted by both tools'
// --cli-input-json.
func TestE2ESkeletonRoundTrip(t *testing.T) {
	t.Parallel()
	awsBin := awsCLI(t)
	srv, client, _, id := motoInstance(t)
	bin := binary(t)
	env := binaryEnv(t)
	skeletons := map[string]string{}
	for name, r := range map[string]result{
		"aws":      runAWS(t, awsBin, env, "ec2", "modify-instance-metadata-options", "--generate-cli-skeleton", "input"),
		"imdsopts": execute(t, env, bin, "modify-instance-metadata-options", "--generate-cli-skeleton", "input"),
	} {
		wantCode(t, r, 0)
		skeletons[name] = r.stdout
	}
	// Same members, same order, same types.
	keys := func(s string) []string {
		dec := json.NewDecoder(strings.NewReader(s))
		var out []string
		depth := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				return out
			}
			switch v := tok.(type) {
			case json.Delim:
				if v == '{' {
					depth++
				} else if v == '}' {
					depth--
				}
			case string:
				if depth == 1 && dec.More() {
					out = append(out, v)
					dec.Token() // the value
				}
			}
		}
	}
	if a, b := keys(skeletons["aws"]), keys(skeletons["imdsopts"]); !reflect.DeepEqual(a, b) {
		t.Errorf("skeleton members differ: aws %v, imdsopts %v", a, b)
	}
	// Both input skeletons, each with the instance ID filled in, through
	// both tools. The skeleton's hop limit 0 and DryRun true are
	// overridden by flags, as is HttpEndpoint (the AWS CLI picks enum
	// values at random, which may pair IPv6 enabled with the endpoint
	// disabled).
	dir := t.TempDir()
	for from, skel := range skeletons {
		var doc map[string]any
		if err := json.Unmarshal([]byte(skel), &doc); err != nil {
			t.Fatalf("%s skeleton: %v", from, err)
		}
		doc["InstanceId"] = id
		b, _ := json.Marshal(doc)
		path := filepath.Join(dir, from+".json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		overrides := []string{"--endpoint-url", srv.URL, "--no-dry-run", "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled"}
		theirs := runAWS(t, awsBin, env, append([]string{"ec2", "modify-instance-metadata-options", "--cli-input-json", "file://" + path}, overrides...)...)
		theirState := currentOptions(t, client, id)
		ours := execute(t, env, bin, append([]string{"modify-instance-metadata-options", "--cli-input-json", "file://" + path}, overrides...)...)
		ourState := currentOptions(t, client, id)
		wantCode(t, theirs, 0)
		wantCode(t, ours, 0)
		if ours.stdout != theirs.stdout || !reflect.DeepEqual(theirState, ourState) {
			t.Errorf("%s skeleton: aws:\n%s\nimdsopts:\n%s", from, theirs.stdout, ours.stdout)
		}
		// Inline, with the instance ID only: imdsopts parses it and refuses
		// the hop limit 0 by name, before sending anything.
		r := execute(t, env, bin, "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--cli-input-json", string(b))
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--cli-input-json HttpPutResponseHopLimit 0: must be 1..64") {
			t.Errorf("%s skeleton inline: %s", from, r.stderr)
		}
	}
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
