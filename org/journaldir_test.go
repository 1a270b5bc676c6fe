package org_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// header returns the first record of the journal at path.
func header(t *testing.T, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// journaledOrg applies RequireIMDSv2 to two targets of an organisation,
// journaled in a directory, and returns the world, the targets, their
// instances and the directory.
func journaledOrg(t *testing.T) (*orgWorld, []account.Target, map[account.Target][]string, org.JournalDir) {
	w := newOrgWorld(t, []string{acctA, acctB}, nil)
	all := []account.Target{{Account: acctA, Region: "eu-west-1"}, {Account: acctB, Region: "us-east-1"}}
	ids := map[account.Target][]string{all[0]: w.launch(t, all[0], 4), all[1]: w.launch(t, all[1], 3)}
	dir := org.JournalDir(filepath.Join(t.TempDir(), "journals"))
	plans, err := org.Plan(t.Context(), w.set(all...), fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), gateOnNoData)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.Apply(t.Context(), w.set(all...), plans, func(o *org.Options) { o.Journals = dir }); err != nil {
		t.Fatal(err)
	}
	return w, all, ids, dir
}

// Apply journals each target to a file of its own, named for it and
// whose header names its account and Region; Undo restores them
// all from there.
func TestJournalsAcrossTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, all, ids, dir := journaledOrg(t)
		found, err := dir.Targets()
		if err != nil || !cmp.Equal(found, all) {
			t.Fatalf("the directory's journals are of %v, %v; want %v", found, err, all)
		}
		for _, tg := range all {
			path := dir.Path(tg)
			if filepath.Base(path) != tg.Account+"-"+tg.Region+".jsonl" {
				t.Errorf("journal of %s named %s", tg, path)
			}
			if h := header(t, path); h["account"] != tg.Account || h["region"] != tg.Region || h["run"] != "apply" {
				t.Errorf("the header of %s's journal: %v", tg, h)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			j, err := fleet.ReadJournal(f, tg.Account, tg.Region)
			f.Close()
			if err != nil || j.Account != tg.Account || j.Region != tg.Region {
				t.Errorf("ReadJournal of %s: %+v, %v", tg, j, err)
			}
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("journal of %s: %v, %v; want mode 0600 (it names instances)", tg, info.Mode(), err)
			}
		}

		// A directory that holds a run already is refused before any call.
		plans, err := org.Plan(t.Context(), w.set(all...), fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(1)))
		if err != nil {
			t.Fatal(err)
		}
		w.calledTargets()
		_, err = org.Apply(t.Context(), w.set(all...), plans, func(o *org.Options) { o.Journals = dir })
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "must not hold a journal of 111111111111/eu-west-1 already") {
			t.Errorf("Apply into a used directory: %v", err)
		}
		if got := w.calledTargets(); len(got) != 0 {
			t.Errorf("clients asked for %v before the refusal", got)
		}

		report, err := org.Undo(t.Context(), w.set(all...), dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Targets {
			if r.Err != nil || r.Result.Counts()[fleet.StatusRolledBack] != len(ids[r.Target]) {
				t.Errorf("undo of %s: %v, %v", r.Target, r.Result.Counts(), r.Err)
			}
			for _, id := range ids[r.Target] {
				if got := testenv.CurrentOptions(t, w.region(t, r.Target).EC2(), id).HttpTokens; got != types.HttpTokensStateOptional {
					t.Errorf("%s %s: HttpTokens %s after the undo", r.Target, id, got)
				}
			}
			if !strings.Contains(readFile(t, dir.Path(r.Target)), `"run":"undo"`) {
				t.Errorf("the undo of %s is not in its journal", r.Target)
			}
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A target whose journal is missing, damaged, or another target's is
// reported with why; the others are undone.
func TestUndoTargetsBadJournals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, all, ids, dir := journaledOrg(t)
		missing := account.Target{Account: acctA, Region: "us-west-2"}
		other := account.Target{Account: acctB, Region: "eu-west-1"}
		// B's eu-west-1 journal is a copy of A's: its header says so.
		if err := os.WriteFile(dir.Path(other), []byte(readFile(t, dir.Path(all[0]))), 0o600); err != nil {
			t.Fatal(err)
		}
		// A's eu-west-1 journal is damaged in the middle.
		path := dir.Path(all[0])
		lines := strings.SplitAfter(readFile(t, path), "\n")
		lines[1] = "{not json\n"
		if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		report, err := org.Undo(t.Context(), w.set(all[0], all[1], missing, other), dir)
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Undo: %v", err)
		}
		for _, r := range report.Targets {
			switch r.Target {
			case all[0]:
				if !errors.Is(r.Err, fleet.ErrBadJournal) || !strings.Contains(r.Err.Error(), "journal line 2") {
					t.Errorf("damaged: %v", r.Err)
				}
			case other:
				if !errors.Is(r.Err, fleet.ErrBadJournal) || !strings.Contains(r.Err.Error(), "written in account 111111111111, Region eu-west-1") {
					t.Errorf("another target's journal: %v", r.Err)
				}
			case missing:
				if !errors.Is(r.Err, fs.ErrNotExist) {
					t.Errorf("missing: %v", r.Err)
				}
			case all[1]:
				if r.Err != nil || r.Result.Counts()[fleet.StatusRolledBack] != 3 {
					t.Errorf("the good journal: %v, %v", r.Result.Counts(), r.Err)
				}
			}
		}
		for _, id := range ids[all[0]] {
			if got := testenv.CurrentOptions(t, w.region(t, all[0]).EC2(), id).HttpTokens; got != types.HttpTokensStateRequired {
				t.Errorf("%s was changed although its journal is damaged", id)
			}
		}
	})
}

// An interrupted Apply is finished by Resume, without any
// instance changed twice; a target that had not started has no journal,
// and is reported so.
func TestResumeTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA}, func(o *fake.Options) { o.Throttle = true })
		all := targets([]string{acctA}, []string{"eu-west-1", "us-east-1"})
		for _, tg := range all {
			w.launch(t, tg, 300)
		}
		// Each target's changes that EC2 accepted, by instance, over both runs.
		logs := map[account.Target]*testenv.ModifyLog{}
		for _, tg := range all {
			logs[tg] = &testenv.ModifyLog{EC2: w.region(t, tg).EC2()}
		}
		ts := w.set(all...)
		ts.Clients = func(ctx context.Context, tg account.Target) (account.Clients, error) {
			c, err := w.clients(ctx, tg)
			c.EC2 = logs[tg]
			return c, err
		}
		dir := org.JournalDir(t.TempDir())
		plans, err := org.Plan(t.Context(), ts, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(30*time.Second, cancel)
		_, err = org.Apply(ctx, ts, plans, func(o *org.Options) {
			o.Journals, o.Concurrency = dir, 1
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply: %v", err)
		}
		started := logs[all[0]].Changed()
		if started == 0 || started >= 300 {
			t.Fatalf("%d changes before Ctrl-C; the test wants some", started)
		}
		report, err := org.Resume(t.Context(), ts, dir, gateOnNoData)
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Resume: %v", err)
		}
		if r := report.Targets[0]; r.Err != nil || r.Result.Counts()[fleet.StatusApplied] != 300 {
			t.Errorf("resumed %s: %v, %v", r.Target, r.Result.Counts(), r.Err)
		}
		if n := logs[all[0]].Changed(); n != 300 {
			t.Errorf("%d of 300 instances changed over both runs", n)
		}
		logs[all[0]].Twice(t)
		if r := report.Targets[1]; !errors.Is(r.Err, fs.ErrNotExist) {
			t.Errorf("the target not started: %v, want its journal not found", r.Err)
		}
	})
}

// Journal names are parsed back to their targets.
func TestJournalDirTargets(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"111111111111-eu-west-1.jsonl", "222222222222-us-gov-west-1.jsonl", "111111111111-ap-south-1.jsonl",
		"111111111111-eu-west-1.json", "11111111111-eu-west-1.jsonl", "111111111111-EU-WEST-1.jsonl", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "333333333333-eu-west-1.jsonl"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := org.JournalDir(dir).Targets()
	want := []account.Target{{Account: acctA, Region: "ap-south-1"}, {Account: acctA, Region: "eu-west-1"}, {Account: acctB, Region: "us-gov-west-1"}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("Targets() = %v, %v; want %v", got, err, want)
	}
	if _, err := org.JournalDir(filepath.Join(dir, "none")).Targets(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a directory that does not exist: %v", err)
	}
}

// TestJournalDirPathStaysInDir: the journal of a target whose account or
// Region is not one is a file of the directory, never of another.
func TestJournalDirPathStaysInDir(t *testing.T) {
	dir := filepath.Join("journals", "run")
	for _, tg := range []account.Target{
		{Account: "../../etc", Region: "eu-west-1"},
		{Account: acctA, Region: "../../../tmp/x"},
		{Account: "..", Region: ".."},
		{Account: "/abs", Region: `a\..\b`},
		{Account: "", Region: ""},
		{Account: "x\x00y", Region: "é"},
	} {
		path := org.JournalDir(dir).Path(tg)
		if filepath.Dir(path) != dir || strings.ContainsAny(filepath.Base(path), `/\`) || strings.HasPrefix(filepath.Base(path), ".") {
			t.Errorf("Path(%q) = %s: not a file of %s", tg, path, dir)
		}
	}
	if got, want := org.JournalDir(dir).Path(account.Target{Account: acctA, Region: "eu-west-1"}), filepath.Join(dir, acctA+"-eu-west-1.jsonl"); got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
}

// FuzzJournalDirPath: every target's journal path is read back as the
// target, and nothing else is.
func FuzzJournalDirPath(f *testing.F) {
	f.Add("111111111111", "eu-west-1")
	f.Add("123456789012", "us-gov-west-1")
	f.Add("12345678901", "eu-west-1")
	f.Add("111111111111", "eu-west-1.jsonl")
	f.Add("111111111111-eu", "west-1")
	f.Add("../..", "etc")
	f.Fuzz(func(t *testing.T, acct, region string) {
		dir := t.TempDir()
		tg := account.Target{Account: acct, Region: region}
		path := org.JournalDir(dir).Path(tg)
		if filepath.Dir(path) != dir {
			t.Fatalf("the journal of %q is %s, not in %s", tg, path, dir)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return
		}
		got, err := org.JournalDir(dir).Targets()
		if err != nil {
			t.Fatal(err)
		}
		valid := awsid.IsAccountID(acct) && awsid.IsRegion(region)
		if valid && !cmp.Equal(got, []account.Target{tg}) {
			t.Errorf("the journal of %v is read back as %v", tg, got)
		}
		for _, g := range got {
			// A name read back is the journal of a target that is one, such
			// as "111111111111-eu" and "west-1" make of a valid name.
			if org.JournalDir(dir).Path(g) != path || !awsid.IsAccountID(g.Account) || !awsid.IsRegion(g.Region) {
				t.Errorf("%q is read back as the journal of %v", filepath.Base(path), g)
			}
		}
	})
}
