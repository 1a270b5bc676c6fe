package account

import (
	"cmp"
	"strings"
)

// Target is one AWS account and Region: the unit EC2's request limits,
// the account's default metadata options and IMDSv2 enforcement apply to.
// Every result of this package names its Target, and package org keys
// its reports across many targets by it.
type Target struct {
	Account string `json:",omitempty"` // the account ID, 12 digits
	Region  string `json:",omitempty"` // the Region's name, such as "eu-west-1"
}

// String returns "ACCOUNT/REGION", or the account alone when the Region is
// empty (an account whose Regions could not be listed).
func (t Target) String() string {
	if t.Region == "" {
		return t.Account
	}
	return t.Account + "/" + t.Region
}

// Compare orders targets by account, then Region, as every report across
// targets lists them: it returns -1, 0 or +1 as t is before, equal to or
// after u.
func (t Target) Compare(u Target) int {
	return cmp.Or(strings.Compare(t.Account, u.Account), strings.Compare(t.Region, u.Region))
}
