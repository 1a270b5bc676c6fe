package account

import (
	"cmp"
	"encoding/json"
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

// The results of this package name their Target in a field of that name,
// not embedded, so that printing a result does not print only its target
// (Target's String method); their JSON has the target's Account and Region
// as members of their own, first.

// withTarget encodes v, a result whose own encoding leaves its Target out,
// as a JSON object with t's Account and Region first.
func withTarget(t Target, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(t) // {} when both are empty
	if err != nil || len(head) <= 2 {
		return body, err
	}
	if len(body) <= 2 {
		return head, nil
	}
	return append(append(head[:len(head)-1:len(head)-1], ','), body[1:]...), nil
}

// MarshalJSON encodes the posture with its Target's Account and Region as
// members of its own.
func (p Posture) MarshalJSON() ([]byte, error) {
	type plain Posture
	return withTarget(p.Target, plain(p))
}

// MarshalJSON encodes the readiness report with its Target's Account and Region as
// members of its own.
func (r Readiness) MarshalJSON() ([]byte, error) {
	type plain Readiness
	return withTarget(r.Target, plain(r))
}

// MarshalJSON encodes the result with its Target's Account and Region as
// members of its own.
func (r DefaultsResult) MarshalJSON() ([]byte, error) {
	type plain DefaultsResult
	return withTarget(r.Target, plain(r))
}

// MarshalJSON encodes the plan with its Target's Account and Region as
// members of its own.
func (p TemplatePlan) MarshalJSON() ([]byte, error) {
	type plain TemplatePlan
	return withTarget(p.Target, plain(p))
}

// MarshalJSON encodes the report with its Target's Account and Region as
// members of its own.
func (r TemplateReport) MarshalJSON() ([]byte, error) {
	type plain TemplateReport
	return withTarget(r.Target, plain(r))
}

// MarshalJSON encodes the report with its Target's Account and Region as
// members of its own.
func (r ImageReport) MarshalJSON() ([]byte, error) {
	type plain ImageReport
	return withTarget(r.Target, plain(r))
}
