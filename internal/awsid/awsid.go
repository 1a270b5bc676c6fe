// Package awsid recognises the identifiers of AWS that this module takes
// from its users and from AWS's answers: Region names, account IDs and the
// partitions of ARNs, one rule each, so that a journal, a target, a flag
// and the emulator never disagree on what a Region is.
package awsid

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/imdsopts/imdsopts/internal/awscli"
)

// partitions are AWS's partitions and the patterns of their Regions' names,
// as the SDK's endpoint rules (partitions.json) give them, with the Regions
// each had when this module was written. Where those take any word
// character (\w), these take lower-case letters and digits only: every
// Region is named so, and "eu-A000-0" or "us-east_x-1" is a mistake.
var partitions = []struct {
	id      string
	pattern *regexp.Regexp
	regions []string
}{
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z0-9]+-[0-9]+$`), []string{
		"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
		"eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1",
		"sa-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}},
	{"aws-cn", regexp.MustCompile(`^cn-[a-z0-9]+-[0-9]+$`), []string{"cn-north-1", "cn-northwest-1"}},
	{"aws-eusc", regexp.MustCompile(`^eusc-de-[a-z0-9]+-[0-9]+$`), []string{"eusc-de-east-1"}},
	{"aws-iso", regexp.MustCompile(`^us-iso-[a-z0-9]+-[0-9]+$`), []string{"us-iso-east-1", "us-iso-west-1"}},
	{"aws-iso-b", regexp.MustCompile(`^us-isob-[a-z0-9]+-[0-9]+$`), []string{"us-isob-east-1", "us-isob-west-1"}},
	{"aws-iso-e", regexp.MustCompile(`^eu-isoe-[a-z0-9]+-[0-9]+$`), []string{"eu-isoe-west-1"}},
	{"aws-iso-f", regexp.MustCompile(`^us-isof-[a-z0-9]+-[0-9]+$`), []string{"us-isof-east-1", "us-isof-south-1"}},
	{"aws-us-gov", regexp.MustCompile(`^us-gov-[a-z0-9]+-[0-9]+$`), []string{"us-gov-east-1", "us-gov-west-1"}},
}

// maxRegion bounds a Region's name: longer input is not one, and is not
// compared with the known names.
const maxRegion = 64

// Partition returns the partition whose pattern Region name matches
// ("aws", "aws-cn", "aws-us-gov", "aws-eusc", "aws-iso"...), or "" when
// name is not a Region's name in any of them. A Region launched after this
// module was written matches its partition's pattern all the same.
func Partition(name string) string {
	if len(name) > maxRegion {
		return ""
	}
	for _, p := range partitions {
		if p.pattern.MatchString(name) {
			return p.id
		}
	}
	return ""
}

// IsRegion reports whether name is a Region's name in a partition AWS
// publishes (see Partition).
func IsRegion(name string) bool { return Partition(name) != "" }

// KnownRegions returns the Regions of every partition AWS published when
// this module was written, sorted.
func KnownRegions() []string {
	var all []string
	for _, p := range partitions {
		all = append(all, p.regions...)
	}
	slices.Sort(all)
	return all
}

// CheckRegion returns nil when name is a Region's name (see Partition),
// else an error that says so and, when a known Region is one or two edits
// away (us-east1, euwest-1), names it: "did you mean us-east-1?". A name
// that fits its partition's pattern is taken whether it is known or not,
// as a Region launched later is named so.
func CheckRegion(name string) error {
	if IsRegion(name) {
		return nil
	}
	msg := "not a Region's name, such as us-east-1"
	if near := Nearest(name); near != "" {
		msg = "not a Region's name; did you mean " + near + "?"
	}
	return fmt.Errorf("%s: %s", quote(name), msg)
}

// Nearest returns the known Region closest to name, when it is at most two
// edits away and closer than any other; "" otherwise.
func Nearest(name string) string {
	if len(name) > maxRegion {
		return ""
	}
	best, bestD, tie := "", 3, false
	for _, r := range KnownRegions() {
		switch d := awscli.EditDistance(name, r); {
		case d < bestD:
			best, bestD, tie = r, d, false
		case d == bestD:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// partitionID is the form of a partition's ID in an ARN ("aws", "aws-cn",
// "aws-us-gov"...): the form, not the list, so that a partition AWS adds
// later is one too.
var partitionID = regexp.MustCompile(`^aws(-[a-z]+)*$`)

// IsPartition reports whether s has the form of a partition's ID, as the
// second field of an ARN holds it: "aws", or "aws-" and lower-case words
// joined by hyphens ("aws-cn", "aws-us-gov", "aws-iso-b").
func IsPartition(s string) bool { return len(s) <= maxRegion && partitionID.MatchString(s) }

// IsAccountID reports whether s is an AWS account ID: 12 digits.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quote quotes s for a message, cut to a short prefix when it is long.
func quote(s string) string {
	if len(s) > maxRegion {
		return strconv.Quote(s[:maxRegion]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

// imageID is what an AMI ID is: "ami-" and 8 or 17 lower-case hex digits.
var imageID = regexp.MustCompile(`^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)

// IsImageID reports whether s is an AMI ID: "ami-" and 8 or 17 lower-case
// hex digits.
func IsImageID(s string) bool { return imageID.MatchString(s) }
