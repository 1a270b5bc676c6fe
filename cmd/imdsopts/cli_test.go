package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const validID = "i-0123456789abcdef0"

// Invalid command lines and values end with exit 252 before any call, and
// the message names the flag, the value and the rule.
func TestInvalidCommandLines(t *testing.T) {
	modify := func(args ...string) []string {
		return append([]string{"modify-instance-metadata-options"}, args...)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"hop 0", modify("--instance-id", validID, "--http-put-response-hop-limit", "0"), []string{"--http-put-response-hop-limit 0", "must be 1..64"}},
		{"hop 65", modify("--instance-id", validID, "--http-put-response-hop-limit", "65"), []string{"--http-put-response-hop-limit 65", "must be 1..64"}},
		{"hop -1", modify("--instance-id", validID, "--http-put-response-hop-limit", "-1"), []string{"--http-put-response-hop-limit -1", "must be 1..64"}},
		{"hop beyond int32", modify("--instance-id", validID, "--http-put-response-hop-limit", "4294967297"), []string{"--http-put-response-hop-limit 4294967297", "must be 1..64"}},
		{"hop not a number", modify("--instance-id", validID, "--http-put-response-hop-limit", "two"), []string{`"two"`, "--http-put-response-hop-limit", "must be an integer"}},
		{"tokens bogus", modify("--instance-id", validID, "--http-tokens", "bogus"), []string{`--http-tokens "bogus"`, `must be one of "optional", "required"`}},
		{"tokens Required", modify("--instance-id", validID, "--http-tokens", "Required"), []string{`--http-tokens "Required"`, `must be one of "optional", "required"`}},
		{"tokens empty", modify("--instance-id", validID, "--http-tokens", ""), []string{`--http-tokens ""`, "must be one of"}},
		{"endpoint bogus", modify("--instance-id", validID, "--http-endpoint", "on"), []string{`--http-endpoint "on"`, `must be one of "disabled", "enabled"`}},
		{"tags bogus", modify("--instance-id", validID, "--instance-metadata-tags", "yes"), []string{`--instance-metadata-tags "yes"`}},
		{"malformed instance id", modify("--instance-id", "i-123", "--http-tokens", "required"), []string{`--instance-id "i-123"`, `must be "i-" followed by 8 or 17 lower-case hex digits`}},
		{"upper-case instance id", modify("--instance-id", "i-0123456789ABCDEF0"), []string{`--instance-id "i-0123456789ABCDEF0"`}},
		{"ipv6 with endpoint disabled", modify("--instance-id", validID, "--http-endpoint", "disabled", "--http-protocol-ipv6", "enabled"),
			[]string{`--http-protocol-ipv6 "enabled"`, `cannot be enabled when --http-endpoint is "disabled"`}},
		{"every problem at once", modify("--instance-id", "x", "--http-put-response-hop-limit", "65", "--http-tokens", "bogus"),
			[]string{"--instance-id", "--http-put-response-hop-limit 65", `--http-tokens "bogus"`}},
		{"missing instance id", modify("--http-tokens", "required"), []string{"required", "--instance-id"}},
		{"unknown flag", modify("--instance-id", validID, "--http-token", "required"), []string{"unknown option --http-token; did you mean --http-tokens?"}},
		{"unknown global flag", []string{"--regoin", "us-east-1", "describe"}, []string{"unknown option --regoin; did you mean --region?"}},
		{"region typo with an endpoint", []string{"describe", "--instance-id", validID, "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east1"},
			[]string{`--region "us-east1": not a Region's name; did you mean us-east-1?`}},
		{"missing value", modify("--instance-id"), []string{"flag needs an argument: --instance-id"}},
		{"stray argument", modify("--instance-id", validID, "required"), []string{`unexpected argument "required"`}},
		{"unknown subcommand", []string{"modify"}, []string{`unknown subcommand "modify"`}},
		{"no subcommand", nil, []string{"a subcommand is required"}},
		{"bad output", modify("--instance-id", validID, "--output", "yaml"), []string{`invalid value "yaml" for flag --output`, `"json", "text", "table"`}},
		{"bad color", modify("--instance-id", validID, "--color", "always"), []string{"--color"}},
		{"bad query", modify("--instance-id", validID, "--query", "InstanceId[?"), []string{"--query", "invalid JMESPath"}},
		{"bad endpoint", modify("--instance-id", validID, "--endpoint-url", "localhost:4566"), []string{"--endpoint-url", "absolute http:// or https:// URL"}},
		{"bad read timeout", modify("--instance-id", validID, "--cli-read-timeout", "-5"), []string{"--cli-read-timeout", "whole number of seconds"}},
		{"bad connect timeout", modify("--instance-id", validID, "--cli-connect-timeout", "1.5"), []string{"--cli-connect-timeout"}},
		{"bad skeleton", modify("--generate-cli-skeleton", "yaml-input"), []string{"--generate-cli-skeleton", `"input" or "output"`}},
		{"dry-run with value", modify("--instance-id", validID, "--dry-run=maybe"), []string{"--dry-run"}},
		{"wait with dry run", modify("--instance-id", validID, "--wait", "--dry-run"), []string{"--wait", "--dry-run"}},
		{"wait timeout without wait", modify("--instance-id", validID, "--wait-timeout", "5m"), []string{"--wait-timeout", "needs --wait"}},
		{"bad wait timeout", modify("--instance-id", validID, "--wait", "--wait-timeout", "soon"), []string{"--wait-timeout", "duration"}},
		{"json: unknown member", modify("--cli-input-json", `{"InstanceId":"`+validID+`","Bogus":1}`), []string{"unknown parameter in input", "Bogus"}},
		{"json: wrong type", modify("--cli-input-json", `{"InstanceId":"`+validID+`","HttpPutResponseHopLimit":"2"}`), []string{"HttpPutResponseHopLimit", "invalid type"}},
		{"json: syntax", modify("--cli-input-json", `{"InstanceId":`), []string{"--cli-input-json", "invalid JSON"}},
		{"json: bad value names the member", modify("--cli-input-json", `{"InstanceId":"`+validID+`","HttpPutResponseHopLimit":65}`),
			[]string{"--cli-input-json HttpPutResponseHopLimit 65", "must be 1..64"}},
		{"json: missing file", modify("--cli-input-json", "file://"+filepath.Join(t.TempDir(), "none.json")), []string{"--cli-input-json", "unable to load"}},
		{"resolve: no image", []string{"resolve", "--http-tokens", "required"}, []string{"--image-id"}},
		{"resolve: hop 65", []string{"resolve", "--image-id", "ami-12345678", "--http-put-response-hop-limit", "65"}, []string{"--http-put-response-hop-limit 65", "must be 1..64"}},
		{"resolve: ipv6 with endpoint disabled", []string{"resolve", "--image-id", "ami-12345678", "--http-endpoint", "disabled", "--http-protocol-ipv6", "enabled"}, []string{"--http-protocol-ipv6"}},
		{"describe: malformed id", []string{"describe", "--instance-id", "instance-1"}, []string{`--instance-id "instance-1"`}},
		{"describe: no id", []string{"describe"}, []string{"--instance-id"}},
		{"help for unknown subcommand", []string{"help", "nope"}, []string{`unknown subcommand "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runFake(t, nil, tt.args...)
			wantCode(t, r, exitUsage)
			if r.stdout != "" && tt.args != nil {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestGenerateCLISkeleton(t *testing.T) {
	const input = "{\n" +
		"    \"InstanceId\": \"\",\n" +
		"    \"HttpTokens\": \"optional\",\n" +
		"    \"HttpPutResponseHopLimit\": 0,\n" +
		"    \"HttpEndpoint\": \"disabled\",\n" +
		"    \"DryRun\": true,\n" +
		"    \"HttpProtocolIpv6\": \"disabled\",\n" +
		"    \"InstanceMetadataTags\": \"disabled\"\n" +
		"}\n"
	const output = "{\n" +
		"    \"InstanceId\": \"InstanceId\",\n" +
		"    \"InstanceMetadataOptions\": {\n" +
		"        \"State\": \"State\",\n" +
		"        \"HttpTokens\": \"HttpTokens\",\n" +
		"        \"HttpPutResponseHopLimit\": 0,\n" +
		"        \"HttpEndpoint\": \"HttpEndpoint\",\n" +
		"        \"HttpProtocolIpv6\": \"HttpProtocolIpv6\",\n" +
		"        \"InstanceMetadataTags\": \"InstanceMetadataTags\"\n" +
		"    }\n" +
		"}\n"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--generate-cli-skeleton"}, input},
		{[]string{"--generate-cli-skeleton", "input"}, input},
		{[]string{"--generate-cli-skeleton=input"}, input},
		{[]string{"--generate-cli-skeleton", "output"}, output},
		{[]string{"--generate-cli-skeleton=output"}, output},
		{[]string{"--generate-cli-skeleton", "output", "--instance-id", validID}, output},
		{[]string{"--instance-id", validID, "--generate-cli-skeleton"}, input},
		{[]string{"--generate-cli-skeleton", "--http-tokens", "required"}, input},
		// Nothing is validated or called: the AWS CLI prints the skeleton
		// whatever else is given.
		{[]string{"--generate-cli-skeleton", "input", "--http-put-response-hop-limit", "99"}, input},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runFake(t, nil, append([]string{"modify-instance-metadata-options"}, tt.args...)...)
			wantCode(t, r, exitOK)
			if r.stdout != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.want)
			}
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}

func TestCLIInputJSON(t *testing.T) {
	f, _, id := newFake(t, "")
	all := `{"InstanceId": "` + id + `", "HttpTokens": "required", "HttpPutResponseHopLimit": 3,
		"HttpEndpoint": "enabled", "DryRun": false, "HttpProtocolIpv6": "enabled", "InstanceMetadataTags": "enabled"}`
	r := runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--cli-input-json", all)
	wantCode(t, r, exitOK)
	got := currentOptions(t, f, id)
	if got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 3 || got.HttpProtocolIpv6 != "enabled" || got.InstanceMetadataTags != "enabled" {
		t.Errorf("after inline JSON: %+v", got)
	}

	// file:// with flags overriding members.
	path := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(path, []byte(`{"InstanceId": "i-00000000", "HttpTokens": "required", "HttpPutResponseHopLimit": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--cli-input-json", "file://"+path,
		"--instance-id", id, "--http-put-response-hop-limit", "5", "--http-tokens", "optional")
	wantCode(t, r, exitOK)
	got = currentOptions(t, f, id)
	if got.HttpTokens != "optional" || aws.ToInt32(got.HttpPutResponseHopLimit) != 5 {
		t.Errorf("after file:// with overrides: %+v", got)
	}
	doc := parseJSON(t, r.stdout).(map[string]any)
	if doc["InstanceId"] != id {
		t.Errorf("output: %s", r.stdout)
	}

	// The input skeleton, with an instance ID filled in, is accepted; its
	// hop limit 0 is then refused by name.
	skel := strings.Replace(inputSkeleton, `"InstanceId": ""`, `"InstanceId": "`+id+`"`, 1)
	r = runFake(t, nil, "modify-instance-metadata-options", "--cli-input-json", skel)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--cli-input-json HttpPutResponseHopLimit 0: must be 1..64") {
		t.Errorf("stderr: %s", r.stderr)
	}
	// DryRun true from the skeleton is a dry run; --no-dry-run overrides it.
	// The skeleton's HttpEndpoint "disabled" cannot go with the values it
	// gives HttpTokens and HttpProtocolIpv6 (EC2 wants the endpoint
	// enabled for them), so EC2 refuses it as it stands.
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--cli-input-json", skel, "--http-put-response-hop-limit", "2", "--no-dry-run")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "InvalidParameterCombination") {
		t.Errorf("stderr: %s", r.stderr)
	}
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--cli-input-json", skel, "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "DryRunOperation") {
		t.Errorf("stderr: %s", r.stderr)
	}
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--cli-input-json", skel, "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled", "--no-dry-run")
	wantCode(t, r, exitOK)
	got = currentOptions(t, f, id)
	if got.HttpEndpoint != "enabled" || got.HttpTokens != "optional" || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 {
		t.Errorf("after skeleton: %+v", got)
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"describe", "--version"}, {"modify-instance-metadata-options", "--version"}} {
		r := runFake(t, nil, args...)
		wantCode(t, r, exitOK)
		if r.stdout != "imdsopts (devel)\n" {
			t.Errorf("%v: stdout %q", args, r.stdout)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := runFake(t, nil, args...)
		wantCode(t, r, exitOK)
		for _, sub := range []string{"modify-instance-metadata-options", "describe", "resolve", "plan", "apply", "252", "253", "254", "255", "130"} {
			if !strings.Contains(r.stdout, sub) {
				t.Errorf("%v: usage lacks %q", args, sub)
			}
		}
	}
}

// Global options go before or after the subcommand.
func TestGlobalOptionsEitherSide(t *testing.T) {
	f, _, id := newFake(t, "")
	before := runFake(t, f, "--output", "text", "--query", "InstanceMetadataOptions.HttpTokens", "describe", "--instance-id", id)
	after := runFake(t, f, "describe", "--instance-id", id, "--output", "text", "--query", "InstanceMetadataOptions.HttpTokens")
	wantCode(t, before, exitOK)
	wantCode(t, after, exitOK)
	if before.stdout != "optional\n" || after.stdout != before.stdout {
		t.Errorf("before: %q, after: %q", before.stdout, after.stdout)
	}
}

func TestDryRunFlagPair(t *testing.T) {
	f, _, id := newFake(t, "")
	// The last of --dry-run / --no-dry-run wins.
	r := runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--no-dry-run", "--dry-run")
	wantCode(t, r, exitService)
	want := "\nAn error occurred (DryRunOperation) when calling the ModifyInstanceMetadataOptions operation: Request would have succeeded, but DryRun flag is set.\n"
	if r.stderr != want || r.stdout != "" {
		t.Errorf("stdout %q\nstderr %q\nwant stderr %q", r.stdout, r.stderr, want)
	}
	if got := currentOptions(t, f, id); got.HttpTokens != "optional" {
		t.Errorf("dry run changed the instance: %+v", got)
	}
	r = runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--dry-run", "--no-dry-run")
	wantCode(t, r, exitOK)
	if got := currentOptions(t, f, id); got.HttpTokens != "required" {
		t.Errorf("not applied: %+v", got)
	}
	// A dry run the caller may not make.
	f.Deny("ModifyInstanceMetadataOptions")
	r = runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "optional", "--dry-run")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "An error occurred (UnauthorizedOperation) when calling the ModifyInstanceMetadataOptions operation") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestInterrupted(t *testing.T) {
	f, _, id := newFake(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runFakeCtx(t, ctx, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait")
	wantCode(t, r, exitInterrupted)
	r = runFakeCtx(t, ctx, f, "describe", "--instance-id", id)
	wantCode(t, r, exitInterrupted)
}
