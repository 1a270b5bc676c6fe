package org_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// orgWorld is an organisation of the fakes whose account/Regions the tests
// reach in-process, without credentials: its ClientsFunc hands out each
// target's own fakes.
type orgWorld struct {
	org *fake.Organization

	mu      sync.Mutex
	called  []account.Target // the targets whose clients were asked for, in order
	failFor map[account.Target]error
}

// newOrgWorld makes an organisation whose management account is
// fake.AccountID, with members of the given IDs; ec2 configures every
// account/Region's EC2.
func newOrgWorld(t testing.TB, members []string, ec2 func(*fake.Options)) *orgWorld {
	t.Helper()
	organization, err := fake.NewOrganization(func(o *fake.OrganizationOptions) { o.EC2 = ec2 })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		if _, err := organization.AddAccount(id); err != nil {
			t.Fatal(err)
		}
	}
	return &orgWorld{org: organization, failFor: map[account.Target]error{}}
}

// region returns the fakes of target tg.
func (w *orgWorld) region(t testing.TB, tg account.Target) *fake.Region {
	t.Helper()
	a := w.org.Account(tg.Account)
	if a == nil {
		t.Fatalf("no account %s", tg.Account)
	}
	r, err := a.Region(tg.Region)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// launch launches n instances allowing IMDSv1 in target tg.
func (w *orgWorld) launch(t testing.TB, tg account.Target, n int) []string {
	t.Helper()
	return testenv.Fleet(t, w.region(t, tg).EC2(), n, nil)
}

// clients is the world's ClientsFunc.
func (w *orgWorld) clients(_ context.Context, tg account.Target) (account.Clients, error) {
	w.mu.Lock()
	w.called = append(w.called, tg)
	err := w.failFor[tg]
	w.mu.Unlock()
	if err != nil {
		return account.Clients{}, err
	}
	a := w.org.Account(tg.Account)
	if a == nil {
		return account.Clients{}, fmt.Errorf("no account %s", tg.Account)
	}
	r, err := a.Region(tg.Region)
	if err != nil {
		return account.Clients{}, err
	}
	return account.Clients{EC2: r.EC2(), AutoScaling: r.AutoScaling(), CloudWatch: r.CloudWatch()}, nil
}

// set is the TargetSet of targets, reached through the world.
func (w *orgWorld) set(targets ...account.Target) org.TargetSet {
	return org.TargetSet{Targets: targets, Clients: w.clients}
}

// calledTargets returns the targets whose clients were asked for, and
// forgets them.
func (w *orgWorld) calledTargets() []account.Target {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.called
	w.called = nil
	return c
}

// targets returns every pair of accounts and regions.
func targets(accounts, regions []string) []account.Target {
	var ts []account.Target
	for _, a := range accounts {
		for _, r := range regions {
			ts = append(ts, account.Target{Account: a, Region: r})
		}
	}
	return ts
}

// Accounts of the tests across targets.
const (
	acctA = "111111111111"
	acctB = "222222222222"
	acctC = "333333333333"
)
