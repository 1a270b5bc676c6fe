package main

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/awsid"
)

// FuzzDefaultsRequest reads arbitrary --cli-input-json documents and flag
// values of modify-instance-metadata-defaults: no panic; what is accepted
// holds only values ModifyInstanceMetadataDefaults takes, the flags win
// over the document; what is refused is a usage error whose every line
// names a flag or a member.
func FuzzDefaultsRequest(f *testing.F) {
	f.Add(`{"HttpTokens": "required", "HttpTokensEnforced": "enabled"}`, "", "", int64(0), false)
	f.Add(`{"HttpPutResponseHopLimit": -1, "DryRun": true}`, "no-preference", "disabled", int64(64), true)
	f.Add(`{"httptokens": "required"}`, "optional", "", int64(65), true)
	f.Add(`{"HttpTokens": null}`, "bogus", "on", int64(-2), true)
	f.Add(`[1]`, "", "", int64(4294967297), true)
	f.Fuzz(func(t *testing.T, doc, tokens, enforced string, hop int64, hopSet bool) {
		var fromInput *modifyDefaultsJSON
		if doc != "" {
			fromInput = &modifyDefaultsJSON{}
			if err := awscli.DecodeInput([]byte(doc), fromInput); err != nil {
				return // the AWS CLI's rules, fuzzed in internal/awscli
			}
		}
		var fl modifyDefaultsFlags
		if tokens != "" {
			fl.tokens.Set(tokens)
		}
		if enforced != "" {
			fl.enforced.Set(enforced)
		}
		if hopSet {
			fl.hop.set, fl.hop.value = true, hop
		}
		req := fl.request(fromInput)
		d, err := req.defaults()
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != exitUsage {
				t.Fatalf("error %v is not a usage error", err)
			}
			for _, line := range strings.Split(err.Error(), moreErrors) {
				if !strings.HasPrefix(line, "--") {
					t.Fatalf("a line names no flag or member: %q", line)
				}
			}
			return
		}
		in := d.ModifyInput()
		if tokens != "" && string(in.HttpTokens) != tokens || enforced != "" && string(in.HttpTokensEnforced) != enforced {
			t.Fatalf("the flags did not win: %+v, flags %q %q", in, tokens, enforced)
		}
		for _, v := range []struct {
			got    string
			values []string
		}{
			{string(in.HttpTokens), []string{"", "optional", "required", "no-preference"}},
			{string(in.HttpEndpoint), []string{"", "enabled", "disabled", "no-preference"}},
			{string(in.InstanceMetadataTags), []string{"", "enabled", "disabled", "no-preference"}},
			{string(in.HttpTokensEnforced), []string{"", "enabled", "disabled", "no-preference"}},
		} {
			found := false
			for _, ok := range v.values {
				found = found || v.got == ok
			}
			if !found {
				t.Fatalf("accepted %q", v.got)
			}
		}
		if n := in.HttpPutResponseHopLimit; n != nil && *n != -1 && (*n < 1 || *n > 64) {
			t.Fatalf("accepted hop limit %d", *n)
		}
	})
}

// FuzzImageIDs parses arbitrary --image-ids arguments: no panic, and an ID
// passes the check only when it is an AMI ID.
func FuzzImageIDs(f *testing.F) {
	for _, s := range []string{"ami-0123456789abcdef0", "ami-12345678,ami-0123456789abcdef0", `["ami-12345678"]`, `["ami-1",2]`, " ami-12345678 ,", "AMI-12345678", "ami-1234567\n8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ids, err := parseIDList(arg, "image")
		if err != nil {
			return
		}
		for _, id := range ids {
			if !awsid.IsImageID(id) {
				continue
			}
			rest, ok := strings.CutPrefix(id, "ami-")
			if !ok || (len(rest) != 8 && len(rest) != 17) || strings.IndexFunc(rest, func(r rune) bool { return !strings.ContainsRune("0123456789abcdef", r) }) >= 0 {
				t.Fatalf("%q passed the check", id)
			}
		}
	})
}

// FuzzPostureReport renders postures whose names and messages are
// arbitrary, as a service might answer them: the text and table reports
// hold no character that could drive a terminal, and every line of a
// table is as wide as its box.
func FuzzPostureReport(f *testing.F) {
	f.Add("web", "the policy's message", "lt-0123456789abcdef0")
	f.Add("evil\x1b[2J\u202e\tname\n", "\u2028\x85\r", "")
	f.Add("日本語のグループ", "", "lt-1")
	f.Fuzz(func(t *testing.T, name, message, id string) {
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		vp := account.VersionPosture{VersionNumber: 1, HTTPTokens: types.HttpTokensStateOptional, HTTPTokensSource: imdsopts.SourceTemplate, Unknown: message}
		p := &account.Posture{Target: account.Target{Region: name}, Time: now,
			Defaults: account.State{ManagedBy: types.ManagedByDeclarativePolicy, ManagedExceptionMessage: message},
			LaunchTemplates: []account.TemplatePosture{{LaunchTemplateID: id, LaunchTemplateName: name, Default: vp, Latest: vp,
				AutoScalingGroupNames: []string{name}}},
			AutoScalingGroups: []account.GroupPosture{{AutoScalingGroupName: name, LaunchTemplateID: id, Version: message, Launch: vp, LaunchesIMDSv1: true}},
			Images:            []account.ImagePosture{{ImageID: id, Name: name, Found: true, LaunchConfigurationNames: []string{message}}},
			IMDSv1: account.IMDSv1Use{WindowStart: now.Add(-time.Hour), WindowEnd: now, Reason: message,
				Instances: []account.InstanceUse{{InstanceID: "i-1", AutoScalingGroupName: name, IMDSv1Calls: aws.Float64(1)}}},
			Blockers: []account.Blocker{{Kind: account.BlockerGroupTemplate, AutoScalingGroupNames: []string{name}, LaunchTemplateID: id,
				LaunchTemplateName: name, Reason: message, Fix: message}},
		}
		for format, out := range map[string]string{"text": postureText(p, ""), "table": postureTable(p), "json": string(libraryJSON(p))} {
			if i := strings.IndexFunc(out, func(r rune) bool {
				return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029')
			}); i >= 0 {
				t.Fatalf("%s: a control character at %d: %q", format, i, out)
			}
		}
		// Every line of a box is as wide as the line above it, or starts a
		// new box.
		width := 0
		for line := range strings.Lines(postureTable(p)) {
			n := len([]rune(strings.TrimSuffix(line, "\n")))
			if width != 0 && n != width && !(strings.HasPrefix(line, "+") && strings.Count(line, "+") == 2) {
				t.Fatalf("line of width %d in a box of %d: %q", n, width, line)
			}
			if strings.HasPrefix(line, "+") && strings.Count(line, "+") == 2 {
				width = n
			}
		}
	})
}
