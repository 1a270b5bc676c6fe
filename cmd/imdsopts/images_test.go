package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"
)

const confirm = "--i-understand-this-cannot-be-undone"

// imageStatuses returns the Status of each image of an output by ID.
func imageStatuses(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, it := range parseJSON(t, out).(map[string]any)["Images"].([]any) {
		m[it.(map[string]any)["ImageId"].(string)] = it.(map[string]any)["Status"].(string)
	}
	return m
}

// imdsSupport returns an image's ImdsSupport as the fake has it.
func (e *acct) imdsSupport(t *testing.T, id string) string {
	t.Helper()
	out, err := e.ec2.EC2.DescribeImageAttribute(t.Context(), &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: "imdsSupport"})
	if err != nil {
		t.Fatal(err)
	}
	if out.ImdsSupport == nil {
		return ""
	}
	return aws.ToString(out.ImdsSupport.Value)
}

// Without the confirmation nothing is sent, not even a Describe: the
// warning says why.
func TestImagesNeedConfirmation(t *testing.T) {
	r := (*acct)(nil).run(t, t.Context(), "images", "set-imdsv2", "--image-ids", "ami-0123456789abcdef0")
	wantCode(t, r, exitUsage)
	for _, want := range []string{
		"imdsopts: warning: ImdsSupport v2.0 cannot be undone: every instance launched from these images from now on requires IMDSv2",
		"imdsopts: error: --i-understand-this-cannot-be-undone is required: ImdsSupport v2.0 cannot be undone; nothing was sent",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// The account's own images get v2.0, those already v2.0 need no call; the
// warning is on stderr and in the output.
func TestImagesSetIMDSv2(t *testing.T) {
	e := newAcct(t)
	v2 := e.registerImage(t, "al2023", "v2.0")
	r := e.run(t, t.Context(), "images", "set-imdsv2", "--image-ids", e.image, v2, e.image, confirm)
	wantCode(t, r, exitOK)
	if diff := cmp.Diff(map[string]string{e.image: "applied", v2: "satisfied"}, imageStatuses(t, r.stdout)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	doc := parseJSON(t, r.stdout).(map[string]any)
	if !strings.HasPrefix(doc["Warning"].(string), "ImdsSupport v2.0 cannot be undone") || !strings.Contains(r.stderr, "imdsopts: warning: ImdsSupport v2.0 cannot be undone") {
		t.Errorf("warning: %v; stderr %s", doc["Warning"], r.stderr)
	}
	sent := e.ec2.sent()
	if len(sent) != 1 || aws.ToString(sent[0].(*ec2.ModifyImageAttributeInput).ImageId) != e.image {
		t.Errorf("sent %v", sent)
	}
	if got := e.imdsSupport(t, e.image); got != "v2.0" {
		t.Errorf("ImdsSupport %q", got)
	}
	// The IDs as a JSON list, or separated by commas.
	for _, ids := range []string{`["` + e.image + `","` + v2 + `"]`, e.image + "," + v2} {
		r = e.run(t, t.Context(), "images", "set-imdsv2", confirm, "--image-ids", ids, "--query", "Counts.satisfied")
		wantCode(t, r, exitOK)
		if r.stdout != "2\n" {
			t.Errorf("%s: %q", ids, r.stdout)
		}
	}
}

// An image of another account, or one EC2 does not return, stops the whole
// run before any change: the owner named, exit 254.
func TestImagesNotOwned(t *testing.T) {
	e := newAcct(t)
	theirs, err := e.ec2.AddImage("999988887777", "vendor", "")
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(t, t.Context(), "images", "set-imdsv2", "--image-ids", e.image, theirs, confirm)
	wantCode(t, r, exitService)
	if diff := cmp.Diff(map[string]string{e.image: "not-attempted", theirs: "failed"}, imageStatuses(t, r.stdout)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(e.ec2.sent()) != 0 || e.imdsSupport(t, e.image) != "" {
		t.Errorf("changed: sent %v", e.ec2.sent())
	}
	for _, want := range []string{
		"image " + theirs + ` belongs to account "999988887777": image not owned by the account: only its owner can set ImdsSupport`,
		"nothing changed, as ImdsSupport v2.0 cannot be undone",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	r = e.run(t, t.Context(), "images", "set-imdsv2", "--image-ids", "ami-0000000000000dead", confirm)
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "not returned by DescribeImages: image not found") {
		t.Errorf("stderr %s", r.stderr)
	}
	// Refused by EC2: 254 with its code.
	e.ec2.Deny("ModifyImageAttribute")
	r = e.run(t, t.Context(), "images", "set-imdsv2", "--image-ids", e.image, confirm)
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "UnauthorizedOperation") || imageStatuses(t, r.stdout)[e.image] != "failed" {
		t.Errorf("denied: stdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

// Bad command lines: 252, before any client, each bad ID named.
func TestImagesInvalidCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"images"}, []string{"images: set-imdsv2 is required"}},
		{[]string{"images", "set-imdsv"}, []string{`images: unknown verb "set-imdsv"; did you mean set-imdsv2?`}},
		{[]string{"images", "set-imdsv2", confirm}, []string{"--image-ids is required"}},
		{[]string{"images", "set-imdsv2", "--image-ids", "ami-123", "AMI-0123456789abcdef0", "ami-0123456789abcdef0", confirm},
			[]string{`--image-ids "ami-123": must be "ami-" followed by 8 or 17 lower-case hex digits`, `--image-ids "AMI-0123456789abcdef0"`}},
		{[]string{"images", "set-imdsv2", "--image-ids", `["ami-0123456789abcdef0",1]`, confirm}, []string{"--image-ids", "a JSON list of image IDs"}},
		{[]string{"images", "set-imdsv2", "--image-ids", confirm}, []string{"--image-ids"}},
		{[]string{"images", "set-imdsv2", "--image-ids", "ami-0123456789abcdef0", "--yes"}, []string{"unknown option --yes"}},
	}
	for _, tt := range tests {
		r := (*acct)(nil).run(t, t.Context(), tt.args...)
		wantCode(t, r, exitUsage)
		for _, w := range tt.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tt.args, w, r.stderr)
			}
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout %q", tt.args, r.stdout)
		}
	}
}
