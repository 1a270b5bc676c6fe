package awsid_test

import (
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/internal/awsid"
)

func TestPartition(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"us-east-1", "aws"},
		{"eu-west-3", "aws"},
		{"ap-southeast-7", "aws"},
		{"mx-central-1", "aws"},
		{"xx-east-9", ""}, // no such prefix in the aws partition
		{"cn-northwest-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"},
		{"us-iso-east-1", "aws-iso"},
		{"us-isob-east-1", "aws-iso-b"},
		{"eu-isoe-west-1", "aws-iso-e"},
		{"us-isof-south-1", "aws-iso-f"},
		{"eusc-de-east-1", "aws-eusc"}, // a four-letter prefix: not [a-z]{2}
		{"us-east1", ""},
		{"us_east_1", ""},
		{"US-EAST-1", ""},
		{"eu-A000-0", ""}, // the SDK's \w takes upper case; no Region has it
		{"us-east_x-1", ""},
		{"us-east-1 ", ""},
		{"", ""},
		{strings.Repeat("a", 100) + "-east-1", ""},
	} {
		if got := awsid.Partition(tt.name); got != tt.want {
			t.Errorf("Partition(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckRegion(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"us-east-1", ""},
		{"us-east1", `"us-east1": not a Region's name; did you mean us-east-1?`},
		{"eu-west1", `did you mean eu-west-1?`},
		// A name that fits its partition's pattern is taken, known or not:
		// a Region launched later is named so.
		{"eu-wset-1", ""},
		{"us-east-3", ""},
		{"useast1", `did you mean us-east-1?`},
		{"mars-north-1", `"mars-north-1": not a Region's name, such as us-east-1`},
		{"us-west", `not a Region's name`}, // us-west-1 and us-west-2 are as near: no guess
	} {
		err := awsid.CheckRegion(tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckRegion(%q) = %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckRegion(%q) = %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := awsid.CheckRegion("us-west"); err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a guess between two as near: %v", err)
	}
	if err := awsid.CheckRegion(strings.Repeat("x", 1<<20)); err == nil || len(err.Error()) > 200 {
		t.Errorf("a 1 MiB name: %d bytes of error", len(err.Error()))
	}
}

func TestIsAccountID(t *testing.T) {
	for s, want := range map[string]bool{"123456789012": true, "12345678901": false, "1234567890123": false, "12345678901a": false, "": false} {
		if got := awsid.IsAccountID(s); got != want {
			t.Errorf("IsAccountID(%q) = %v", s, got)
		}
	}
}

func FuzzCheckRegion(f *testing.F) {
	for _, s := range []string{"us-east-1", "us-east1", "eusc-de-east-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := awsid.CheckRegion(s)
		if (err == nil) != awsid.IsRegion(s) {
			t.Fatalf("CheckRegion(%q) = %v, IsRegion %v", s, err, awsid.IsRegion(s))
		}
	})
}

func TestIsPartition(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"aws", true}, {"aws-cn", true}, {"aws-us-gov", true}, {"aws-iso-b", true}, {"aws-eusc", true},
		{"", false}, {"AWS", false}, {"aws-", false}, {"aws--cn", false}, {"azure", false}, {"aws-c1", false},
		{"aws" + strings.Repeat("-a", 40), false},
	} {
		if got := awsid.IsPartition(tt.s); got != tt.want {
			t.Errorf("IsPartition(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
