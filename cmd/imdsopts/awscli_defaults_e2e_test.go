//go:build e2e

package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// The same invocations of get- and modify-instance-metadata-defaults
// through the AWS CLI and through imdsopts, on one emulator (moto answers
// these calls with HTTP 500: see TestE2EMotoDefaults): the same output where
// the AWS CLI defines it, and the same account defaults after. Where
// imdsopts differs on purpose, the difference is what is tested.
func TestE2EDefaultsDifferentialAgainstAWSCLI(t *testing.T) {
	t.Parallel()
	awsBin := awsCLI(t)
	bin := binary(t)
	env := binaryEnv(t)
	url := startEmulatorBinary(t, "--instances", "1")
	// state reads the account defaults with the SDK, not the AWS CLI: one
	// process less per comparison, and the same answer.
	client := clientOf(url)
	state := func() string {
		t.Helper()
		out, err := client.GetInstanceMetadataDefaults(t.Context(), &ec2.GetInstanceMetadataDefaultsInput{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(out.AccountLevel)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	both := func(args ...string) (theirs, ours result, theirState, ourState string) {
		t.Helper()
		theirs = runAWS(t, awsBin, env, append([]string{"ec2"}, append(args, "--endpoint-url", url)...)...)
		theirState = state()
		ours = execute(t, env, bin, append(args, "--endpoint-url", url)...)
		ourState = state()
		return
	}

	// The same output and the same defaults after. imdsopts runs second,
	// so it finds the defaults already set and sends nothing (its note
	// says so): the output is the AWS CLI's all the same.
	for _, inv := range [][]string{
		{"get-instance-metadata-defaults"},
		{"modify-instance-metadata-defaults", "--http-tokens", "required", "--http-put-response-hop-limit", "2"},
		{"get-instance-metadata-defaults"},
		{"get-instance-metadata-defaults", "--output", "text"},
		{"get-instance-metadata-defaults", "--output", "table"},
		{"get-instance-metadata-defaults", "--query", "AccountLevel.[HttpTokens, HttpPutResponseHopLimit]"},
		{"modify-instance-metadata-defaults", "--http-endpoint", "enabled", "--instance-metadata-tags", "disabled", "--output", "text"},
		{"modify-instance-metadata-defaults", "--http-put-response-hop-limit", "-1", "--http-tokens", "no-preference", "--output", "table"},
		{"modify-instance-metadata-defaults", "--cli-input-json", `{"HttpTokens": "optional", "HttpEndpoint": "no-preference"}`},
		{"get-instance-metadata-defaults"},
		{"get-instance-metadata-defaults", "--generate-cli-skeleton"},
		{"get-instance-metadata-defaults", "--generate-cli-skeleton", "output"},
		{"modify-instance-metadata-defaults", "--generate-cli-skeleton", "output"},
	} {
		theirs, ours, theirState, ourState := both(inv...)
		name := strings.Join(inv, " ")
		if theirs.code != 0 || ours.code != 0 {
			t.Errorf("%s: exit codes aws %d, imdsopts %d\naws: %s\nimdsopts: %s", name, theirs.code, ours.code, theirs.stderr, ours.stderr)
			continue
		}
		if ours.stdout != theirs.stdout {
			t.Errorf("%s: outputs differ\naws:\n%s\nimdsopts:\n%s", name, theirs.stdout, ours.stdout)
		}
		if theirState != ourState {
			t.Errorf("%s: defaults after aws %s, after imdsopts %s", name, theirState, ourState)
		}
	}

	// The input skeletons: the same members in the same order (the AWS CLI
	// picks enum values at random).
	for _, cmd := range []string{"get-instance-metadata-defaults", "modify-instance-metadata-defaults"} {
		theirs := runAWS(t, awsBin, env, "ec2", cmd, "--generate-cli-skeleton")
		ours := execute(t, env, bin, cmd, "--generate-cli-skeleton")
		if a, b := memberNames(t, theirs.stdout), memberNames(t, ours.stdout); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: skeleton members aws %v, imdsopts %v", cmd, a, b)
		}
	}

	// Dry runs: the same message (the AWS CLI v1 exits 255, imdsopts 254
	// as the AWS CLI v2), nothing changed.
	before := state()
	for _, inv := range [][]string{
		{"modify-instance-metadata-defaults", "--http-tokens", "required", "--dry-run"},
		{"get-instance-metadata-defaults", "--dry-run"},
	} {
		theirs, ours, _, after := both(inv...)
		if theirs.code == 0 || ours.code != exitService || ours.stderr != theirs.stderr || after != before {
			t.Errorf("%v: aws %d %q, imdsopts %d %q; defaults %s", inv, theirs.code, theirs.stderr, ours.code, ours.stderr, after)
		}
	}

	// A bad value: the AWS CLI sends it and the emulator refuses it, as
	// EC2 does; imdsopts refuses it before sending, naming the rule.
	theirs, ours, _, after := both("modify-instance-metadata-defaults", "--http-tokens", "bogus")
	if theirs.code == 0 || !strings.Contains(theirs.stderr, "InvalidParameterValue") || ours.code != exitUsage ||
		!strings.Contains(ours.stderr, `--http-tokens "bogus": must be one of "optional", "required", "no-preference"`) || after != before {
		t.Errorf("bogus: aws %d %q, imdsopts %d %q", theirs.code, theirs.stderr, ours.code, ours.stderr)
	}

	// Enforcement while a launch would fail: the AWS CLI enables it;
	// imdsopts refuses (exit 1) and sends nothing. Here the account
	// default HttpTokens (now "optional") would make launches fail.
	r := runAWS(t, awsBin, env, "ec2", "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens-enforced", "enabled")
	wantCode(t, r, 0)
	if !strings.Contains(state(), `"HttpTokensEnforced":"enabled"`) {
		t.Fatalf("aws did not enable enforcement: %s", state())
	}
	wantCode(t, runAWS(t, awsBin, env, "ec2", "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens-enforced", "disabled"), 0)
	before = state()
	ours = execute(t, env, bin, "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens-enforced", "enabled")
	wantCode(t, ours, exitNotReady)
	if state() != before || !strings.Contains(ours.stdout, `"Kind": "account-default"`) {
		t.Errorf("imdsopts: %s %s; defaults %s", ours.stdout, ours.stderr, state())
	}
	// Ready: both enable it; imdsopts adds the readiness check's Blockers.
	ours = execute(t, env, bin, "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens", "required", "--http-tokens-enforced", "enabled")
	wantCode(t, ours, exitOK)
	var doc map[string]any
	if err := json.Unmarshal([]byte(ours.stdout), &doc); err != nil || doc["Return"] != true || len(doc["Blockers"].([]any)) != 0 {
		t.Errorf("ready: %s (%v)", ours.stdout, err)
	}
	if s := state(); !strings.Contains(s, `"HttpTokensEnforced":"enabled"`) || !strings.Contains(s, `"HttpTokens":"required"`) {
		t.Errorf("defaults %s", s)
	}
}

// memberNames returns the member names of a JSON object, in order.
func memberNames(t *testing.T, s string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q", s)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// moto answers the account defaults with HTTP 500 (motoserver.Deviations
// "defaults-500"): the AWS CLI fails, and so does imdsopts, at its first
// read, having sent no change. (imdsopts tries a 5xx answer again, up to
// ten calls in a row; without the SDK's own retries of each, as here,
// that takes seconds, not most of a minute.)
func TestE2EMotoDefaults(t *testing.T) {
	t.Parallel()
	if _, ok := motoserver.Deviations["defaults-500"]; !ok {
		t.Fatal(`motoserver.Deviations no longer lists "defaults-500": this test can now compare outputs`)
	}
	awsBin := awsCLI(t)
	srv := motoserver.Start(t)
	bin := binary(t)
	env := append(binaryEnv(t), "AWS_MAX_ATTEMPTS=1")
	inv := []string{"modify-instance-metadata-defaults", "--http-tokens", "required", "--endpoint-url", srv.URL}
	theirs := runAWS(t, awsBin, env, append([]string{"ec2"}, inv...)...)
	ours := execute(t, env, bin, append(inv, "--debug")...)
	if theirs.code == 0 || ours.code != exitService {
		t.Errorf("exit aws %d, imdsopts %d\n%s", theirs.code, ours.code, ours.stderr)
	}
	if !strings.Contains(ours.stderr, "GetInstanceMetadataDefaults") || !strings.Contains(ours.stderr, "StatusCode: 500") ||
		strings.Contains(ours.stderr, "Action=ModifyInstanceMetadataDefaults") {
		t.Errorf("imdsopts stderr:\n%s", ours.stderr)
	}
}

// On moto, the AWS CLI's modify-image-attribute is accepted for an image
// of another account (moto's own Amazon image); imdsopts refuses it before
// sending anything that could change it, naming the owner.
func TestE2EMotoImagesNotOwned(t *testing.T) {
	t.Parallel()
	srv := motoserver.Start(t)
	bin := binary(t)
	r := execute(t, binaryEnv(t), bin, "images", "set-imdsv2", "--endpoint-url", srv.URL, "--image-ids", motoserver.ImageID,
		"--i-understand-this-cannot-be-undone", "--debug")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "image "+motoserver.ImageID+" belongs to account") || strings.Contains(r.stderr, "Action=ModifyImageAttribute") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["Images"].([]any)[0].(map[string]any)["Status"] != "failed" {
		t.Errorf("stdout %s (%v)", r.stdout, err)
	}
}

// A policy-managed account, through the built binary against an emulator
// seeded with a declarative policy: the AWS CLI's change is refused by the
// service with the policy's message; imdsopts refuses it before sending,
// with the same message, exit 254; both read the same defaults.
func TestE2EPolicyManagedBinary(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	env := binaryEnv(t)
	url := startEmulatorBinary(t, "--seed", writeSeed(t, `{"Instances": [{"Count": 1, "MetadataNoToken": {"PerDay": 0}}],
		"DeclarativePolicy": {"HttpTokens": "required", "HttpTokensEnforced": "enabled", "ManagedExceptionMessage": "IMDS settings belong to the platform team."}}`))
	ours := execute(t, env, bin, "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens", "optional", "--debug")
	wantCode(t, ours, exitService)
	if !strings.Contains(ours.stderr, "IMDS settings belong to the platform team.; nothing was sent") || strings.Contains(ours.stderr, "Action=ModifyInstanceMetadataDefaults") || ours.stdout != "" {
		t.Errorf("imdsopts: stdout %q\nstderr:\n%s", ours.stdout, ours.stderr)
	}
	r := execute(t, env, bin, "posture", "--endpoint-url", url, "--output", "text")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Managed by:        a declarative policy: the account cannot change them (IMDS settings belong to the platform team.)") {
		t.Errorf("posture:\n%s", r.stdout)
	}
	// Without the confirmation, nothing is sent: 252.
	r = execute(t, env, bin, "images", "set-imdsv2", "--endpoint-url", url, "--image-ids", "ami-00000000000000001")
	wantCode(t, r, exitUsage)

	awsBin := awsCLI(t)
	theirs := runAWS(t, awsBin, env, "ec2", "modify-instance-metadata-defaults", "--endpoint-url", url, "--http-tokens", "optional")
	if theirs.code == 0 || !strings.Contains(theirs.stderr, "IMDS settings belong to the platform team.") {
		t.Errorf("aws: exit %d %s", theirs.code, theirs.stderr)
	}
	theirs = runAWS(t, awsBin, env, "ec2", "get-instance-metadata-defaults", "--endpoint-url", url)
	ours = execute(t, env, bin, "get-instance-metadata-defaults", "--endpoint-url", url)
	wantCode(t, ours, exitOK)
	if ours.stdout != theirs.stdout || !strings.Contains(ours.stdout, `"ManagedBy": "declarative-policy"`) {
		t.Errorf("get: aws\n%s\nimdsopts\n%s", theirs.stdout, ours.stdout)
	}
}
