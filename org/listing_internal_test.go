package org

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// sameAccountForever answers ListAccounts with the same account on every
// page, each with a fresh page token; after stop calls it fails, so that a
// listing with no bound ends.
type sameAccountForever struct {
	calls, stop int
}

var errCalledTooOften = errors.New("called too often")

func (s *sameAccountForever) ListAccounts(_ context.Context, _ *organizations.ListAccountsInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	s.calls++
	if s.calls > s.stop {
		return nil, errCalledTooOften
	}
	return &organizations.ListAccountsOutput{
		Accounts:  []orgtypes.Account{{Id: aws.String("111111111111"), State: orgtypes.AccountStateActive}},
		NextToken: aws.String("t" + strconv.Itoa(s.calls)),
	}, nil
}

// TestListAccountsIsBounded: pages that list accounts already seen, each
// with a fresh token, end the listing after MaxAccounts+maxEmptyPages
// pages: neither the bound on accounts nor that on empty pages counted
// them.
func TestListAccountsIsBounded(t *testing.T) {
	api := &sameAccountForever{stop: 1_000_000}
	_, err := listAccounts(t.Context(), api, 50)
	want := "ListAccounts answered 150 pages, each with a page token not seen before, and has more: the listing would not end (the bound is 150 pages)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("listAccounts: %v, want an error saying %q", err, want)
	}
	if api.calls != 50+maxEmptyPages {
		t.Errorf("%d calls, want %d", api.calls, 50+maxEmptyPages)
	}
}
