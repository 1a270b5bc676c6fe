package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// allOptions sets every option; the fake answers State "applied". Raising
// the hop limit and turning IPv6 and tags on weakens the fake's new
// instance, so it is allowed.
var allOptions = []string{"--http-tokens", "required", "--http-put-response-hop-limit", "2", "--http-endpoint", "enabled",
	"--http-protocol-ipv6", "enabled", "--instance-metadata-tags", "enabled", "--allow-downgrade"}

func TestOutputFormats(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"json", nil, `{
    "InstanceId": "ID",
    "InstanceMetadataOptions": {
        "State": "pending",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "enabled",
        "InstanceMetadataTags": "enabled"
    }
}
`},
		{"text", []string{"--output", "text"}, "ID\nINSTANCEMETADATAOPTIONS\tenabled\tenabled\t2\trequired\tenabled\tpending\n"},
		{"table", []string{"--output", "table", "--color", "off"}, `-------------------------------------------
|      ModifyInstanceMetadataOptions      |
+--------------+--------------------------+
|  InstanceId  |  i-00000000000000001     |
+--------------+--------------------------+
||        InstanceMetadataOptions        ||
|+--------------------------+------------+|
||  HttpEndpoint            |  enabled   ||
||  HttpProtocolIpv6        |  enabled   ||
||  HttpPutResponseHopLimit |  2         ||
||  HttpTokens              |  required  ||
||  InstanceMetadataTags    |  enabled   ||
||  State                   |  pending   ||
|+--------------------------+------------+|
`},
		{"query scalar json", []string{"--query", "InstanceMetadataOptions.HttpPutResponseHopLimit"}, "2\n"},
		{"query scalar text", []string{"--query", "InstanceMetadataOptions.HttpTokens", "--output", "text"}, "required\n"},
		{"query missing json", []string{"--query", "Nope"}, "null\n"},
		{"query missing text", []string{"--query", "Nope", "--output", "text"}, "None\n"},
		{"query empty object", []string{"--query", "`{}`"}, ""},
		{"query hash keeps its order", []string{"--query", "{z: InstanceMetadataOptions.State, a: InstanceId, m: [InstanceMetadataOptions.HttpTokens, InstanceMetadataOptions.HttpPutResponseHopLimit]}"}, `{
    "z": "pending",
    "a": "ID",
    "m": [
        "required",
        2
    ]
}
`},
		{"query hash text", []string{"--output", "text", "--query", "{z: InstanceMetadataOptions.State, a: InstanceId, m: [InstanceMetadataOptions.HttpTokens, InstanceMetadataOptions.HttpPutResponseHopLimit]}"},
			"ID\tpending\nM\trequired\nM\t2\n"},
		{"query list text", []string{"--output", "text", "--query", "[InstanceId, InstanceMetadataOptions.State]"}, "ID\tpending\n"},
		{"query functions", []string{"--query", "length(keys(InstanceMetadataOptions))"}, "6\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, id := newFake(t, "")
			args := append(append([]string{"modify-instance-metadata-options", "--instance-id", id}, allOptions...), tt.extra...)
			r := runFake(t, f, args...)
			wantCode(t, r, exitOK)
			want := strings.ReplaceAll(tt.want, "ID", id)
			if id != "i-00000000000000001" {
				t.Fatalf("the fake's first instance is %s; the table assumes i-00000000000000001", id)
			}
			if r.stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
			}
		})
	}
}

func TestDefaultOutputFromEnvironment(t *testing.T) {
	f, _, id := newFake(t, "")
	var stdout, stderr strings.Builder
	getenv := func(k string) string {
		if k == "AWS_DEFAULT_OUTPUT" {
			return "text"
		}
		return ""
	}
	code := runWith(context.Background(), []string{"describe", "--instance-id", id, "--query", "InstanceMetadataOptions.State"},
		strings.NewReader(""), &stdout, &stderr, getenv, fakeAPI(f))
	if code != 0 || stdout.String() != "applied\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestWaitWithFake(t *testing.T) {
	f, _, id := newFake(t, "")
	r := runFake(t, f, append([]string{"modify-instance-metadata-options", "--instance-id", id, "--wait", "--wait-timeout", "30"}, allOptions...)...)
	wantCode(t, r, exitOK)
	doc := parseJSON(t, r.stdout).(map[string]any)
	opts := doc["InstanceMetadataOptions"].(map[string]any)
	if doc["InstanceId"] != id || opts["State"] != "applied" || opts["HttpTokens"] != "required" || opts["HttpPutResponseHopLimit"] != 2.0 {
		t.Errorf("output: %s", r.stdout)
	}
	// The fake keeps omitted options, as EC2 does.
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--wait", "--http-put-response-hop-limit", "3", "--query", "InstanceMetadataOptions.[HttpTokens, HttpPutResponseHopLimit, State]", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "required\t3\tapplied\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	// A stopped instance applies the change only when started.
	if _, err := f.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	// The change is accepted: the options seen are printed, with a note,
	// and the exit is 0, as apply has it.
	r = runFake(t, f, "modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--wait", "--http-tokens", "optional")
	wantCode(t, r, exitOK)
	if r.stderr != stoppedNote([]string{id})+"\n" || !strings.Contains(r.stdout, `"State": "pending"`) || !strings.Contains(r.stdout, `"HttpTokens": "optional"`) {
		t.Errorf("stdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

func TestAPIErrors(t *testing.T) {
	f, _, id := newFake(t, "")
	f.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(400, "InvalidParameterCombination", "nope"))
	r := runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required")
	wantCode(t, r, exitService)
	if r.stderr != "\nAn error occurred (InvalidParameterCombination) when calling the ModifyInstanceMetadataOptions operation: nope\n" || r.stdout != "" {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}

	// Unknown instance: EC2's error, exit 254.
	r = runFake(t, f, "modify-instance-metadata-options", "--instance-id", "i-0000000000000dead", "--http-tokens", "required")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "(InvalidInstanceID.NotFound)") {
		t.Errorf("stderr %s", r.stderr)
	}
	r = runFake(t, f, "describe", "--instance-id", "i-0000000000000dead")
	wantCode(t, r, exitService)

	// --wait: the library's sentinel is reported with EC2's error.
	f.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(403, "UnauthorizedOperation", "You are not authorized to perform this operation."))
	r = runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "(UnauthorizedOperation)") || !strings.Contains(r.stderr, "not authorized") {
		t.Errorf("stderr %s", r.stderr)
	}

	// A 500 that is not retried away is a service error too.
	f.FailNext("DescribeInstances", 1, nil)
	r = runFake(t, f, "describe", "--instance-id", id)
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "(InternalError)") {
		t.Errorf("stderr %s", r.stderr)
	}
}

func TestResolveWithFake(t *testing.T) {
	f, image, _ := newFake(t, types.ImdsSupportValuesV20)
	r := runFake(t, f, "resolve", "--image-id", image, "--http-endpoint", "enabled")
	wantCode(t, r, exitOK)
	want := `{
    "HttpTokens": {
        "Value": "required",
        "Source": "ami"
    },
    "HttpPutResponseHopLimit": {
        "Value": 2,
        "Source": "ami"
    },
    "HttpEndpoint": {
        "Value": "enabled",
        "Source": "launch"
    },
    "HttpProtocolIpv6": {
        "Value": "disabled",
        "Source": "default"
    },
    "InstanceMetadataTags": {
        "Value": "disabled",
        "Source": "default"
    }
}
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	// The account's default beats the AMI.
	if _, err := f.ModifyInstanceMetadataDefaults(context.Background(), &ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	r = runFake(t, f, "resolve", "--image-id", image, "--output", "text")
	wantCode(t, r, exitOK)
	wantText := "HTTPENDPOINT\tdefault\tenabled\nHTTPPROTOCOLIPV6\tdefault\tdisabled\nHTTPPUTRESPONSEHOPLIMIT\taccount\t1\nHTTPTOKENS\tami\trequired\nINSTANCEMETADATATAGS\tdefault\tdisabled\n"
	if r.stdout != wantText {
		t.Errorf("text:\n%q\nwant:\n%q", r.stdout, wantText)
	}
	r = runFake(t, f, "resolve", "--image-id", image, "--output", "table", "--color", "off")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "ResolveInstanceMetadataOptions") || !strings.Contains(r.stdout, "account") {
		t.Errorf("table:\n%s", r.stdout)
	}

	// Enforcement: the options are printed, and the refusal is an error.
	if _, err := f.ModifyInstanceMetadataDefaults(context.Background(), &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
		t.Fatal(err)
	}
	r = runFake(t, f, "resolve", "--image-id", image, "--http-tokens", "optional", "--query", "HttpTokens.Source", "--output", "text")
	wantCode(t, r, exitOther)
	if r.stdout != "launch\n" || !strings.Contains(r.stderr, "account enforces IMDSv2") {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}

	// A failing GetInstanceMetadataDefaults is an error, never "no preference".
	f.FailNext("GetInstanceMetadataDefaults", 1, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
	r = runFake(t, f, "resolve", "--image-id", image)
	wantCode(t, r, exitService)
	if r.stdout != "" || !strings.Contains(r.stderr, "GetInstanceMetadataDefaults") {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// An unknown image is EC2's error.
	r = runFake(t, f, "resolve", "--image-id", "ami-00000000000000bad")
	wantCode(t, r, exitService)
}

func TestDescribeWithFake(t *testing.T) {
	f, _, id := newFake(t, "")
	r := runFake(t, f, "describe", "--instance-id", id)
	wantCode(t, r, exitOK)
	want := `{
    "InstanceId": "` + id + `",
    "InstanceMetadataOptions": {
        "State": "applied",
        "HttpTokens": "optional",
        "HttpPutResponseHopLimit": 1,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "disabled",
        "InstanceMetadataTags": "disabled"
    }
}
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

// A change that weakens the instance is refused before it is sent, naming
// what it weakens, unless --allow-downgrade is given; one that can only
// strengthen is sent without a read first, as the AWS CLI sends it.
func TestModifyRefusesDowngrade(t *testing.T) {
	required := &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(1)}
	for _, tt := range []struct {
		name      string
		args      []string
		code      int
		modified  bool
		described bool
		stderr    string
	}{
		{"tokens optional", []string{"--http-tokens", "optional"}, exitService, false, true,
			"change weakens the instance: HttpTokens=optional, where it has HttpTokens=required HttpPutResponseHopLimit=1"},
		{"hop limit raised", []string{"--http-put-response-hop-limit", "2", "--wait"}, exitService, false, true, "HttpPutResponseHopLimit=2, where"},
		{"tags on", []string{"--instance-metadata-tags", "enabled"}, exitService, false, true, "InstanceMetadataTags=enabled, where"},
		{"IPv6 on", []string{"--http-protocol-ipv6", "enabled"}, exitService, false, true, "HttpProtocolIpv6=enabled, where"},
		{"allowed", []string{"--http-tokens", "optional", "--allow-downgrade"}, exitOK, true, false, ""},
		{"already so", []string{"--http-put-response-hop-limit", "1", "--http-endpoint", "enabled"}, exitOK, true, true, ""},
		{"strengthens only", []string{"--http-tokens", "required", "--http-put-response-hop-limit", "1"}, exitOK, true, false, ""},
		// A dry run changes nothing: it is sent as asked, with DryRun.
		{"dry run", []string{"--http-tokens", "optional", "--dry-run"}, exitService, true, false, "DryRunOperation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newFleetEnv(t)
			id := e.launch(t, required)
			describes := e.ec2.Calls("DescribeInstances")
			r := e.run(t, t.Context(), false, append([]string{"modify-instance-metadata-options", "--instance-id", id}, tt.args...)...)
			wantCode(t, r, tt.code)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			if got := e.ec2.Calls("ModifyInstanceMetadataOptions") > 0; got != tt.modified {
				t.Errorf("ModifyInstanceMetadataOptions sent: %v, want %v", got, tt.modified)
			}
			if got := e.ec2.Calls("DescribeInstances") > describes; got != tt.described && !(tt.modified && slices.Contains(tt.args, "--wait")) {
				t.Errorf("DescribeInstances sent: %v, want %v", got, tt.described)
			}
			if !tt.modified {
				if got := currentOptions(t, e.ec2, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 1 ||
					got.InstanceMetadataTags == "enabled" || got.HttpProtocolIpv6 == "enabled" {
					t.Errorf("options after a refused change: %+v", got)
				}
			}
		})
	}
}
