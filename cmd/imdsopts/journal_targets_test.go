package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// twoTargets are the target flags of the tests of journals across targets:
// the management account and memberA, in eu-west-1.
func twoTargets() []string {
	return []string{"--organization-role", testRole, "--regions", "eu-west-1"}
}

// calls counts the changes sent to every EC2 of accounts in region.
func (e *orgEnv) changes(t *testing.T, region string, accounts ...string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, a := range accounts {
		m[a] = e.ec2(t, a, region).Calls("ModifyInstanceMetadataOptions")
	}
	return m
}

// A canary rollout across targets rolls out in each target on its own: the
// wave that fails in one target (an instance there rejects IMDSv1 calls)
// halts and rolls back that target's rollout only; the other target's
// completes. The exit status is the service's (254), as for one account.
func TestRolloutAcrossTargetsHaltsInOneTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		good := e.launch(t, mgmtID, "eu-west-1", 6)
		bad := e.launch(t, memberA, "eu-west-1", 6)
		if err := e.ec2(t, memberA, "eu-west-1").CallIMDSv1(bad[2], 3); err != nil {
			t.Fatal(err)
		}
		r := e.run(t, t.Context(), acrossArgs("apply", append(twoTargets(), "--canary", "1", "--max-wave", "2", "--bake", "10m")...)...)
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)

		status := func(d map[string]any) map[string]string {
			m := map[string]string{}
			for _, it := range d["Items"].([]any) {
				it := it.(map[string]any)
				m[it["InstanceId"].(string)] = it["Status"].(string)
			}
			return m
		}
		results := func(d map[string]any) []string {
			var out []string
			for _, w := range d["Waves"].([]any) {
				out = append(out, w.(map[string]any)["Result"].(string))
			}
			return out
		}
		g := target(t, doc, mgmtID, "eu-west-1")
		if g["Error"] != nil || g["Counts"].(map[string]any)["applied"] != 6.0 {
			t.Errorf("the good target: error %v, counts %v", g["Error"], g["Counts"])
		}
		if got := results(g); len(got) != 4 || slices.ContainsFunc(got, func(s string) bool { return s != "passed" }) {
			t.Errorf("the good target's waves: %v, want 4 passed", got)
		}
		b := target(t, doc, memberA, "eu-west-1")
		if msg, _ := b["Error"].(string); !strings.Contains(msg, "halted") {
			t.Errorf("the halted target's error: %q", msg)
		}
		if got := results(b); !slices.Equal(got, []string{"passed", "failed"}) {
			t.Errorf("the halted target's waves: %v, want passed, failed", got)
		}
		want := map[string]string{bad[0]: "applied", bad[1]: "applied", bad[2]: "rolled-back", bad[3]: "not-attempted",
			bad[4]: "not-attempted", bad[5]: "not-attempted"}
		if diff := cmp.Diff(want, status(b)); diff != "" {
			t.Errorf("the halted target's instances (-want +got):\n%s", diff)
		}
		for _, id := range good {
			if got := currentOptions(t, e.ec2(t, mgmtID, "eu-west-1"), id).HttpTokens; got != types.HttpTokensStateRequired {
				t.Errorf("good target %s: %s", id, got)
			}
		}
		if got := currentOptions(t, e.ec2(t, memberA, "eu-west-1"), bad[2]).HttpTokens; got != types.HttpTokensStateOptional {
			t.Errorf("the instance that rejected IMDSv1 calls was not rolled back: %s", got)
		}
		if !strings.Contains(r.stderr, "imdsopts: "+memberA+"/eu-west-1: the rollout halted at wave 2: 1 instance(s) rolled back") ||
			strings.Contains(r.stderr, mgmtID+"/eu-west-1: the rollout halted") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
	})
}

// Where one target's account enforces IMDSv2, apply with a journal (or a
// rollout) refuses, before any change in any target, to make changes no
// undo could restore, unless --accept-irreversible; exit 254 as for one
// account, and no journal is left behind.
func TestAcrossTargetsRefuseIrreversible(t *testing.T) {
	for _, mode := range [][]string{{"--journal", ""}, {"--canary", "1", "--bake", "1m"}} {
		t.Run(mode[0], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newOrgEnv(t, memberA)
				e.launch(t, mgmtID, "eu-west-1", 2)
				ids := e.launch(t, memberA, "eu-west-1", 2)
				enforceIMDSv2(t, e.ec2(t, memberA, "eu-west-1"))
				dir := filepath.Join(t.TempDir(), "run")
				if mode[0] == "--journal" {
					mode = []string{"--journal", dir}
				}
				r := e.run(t, t.Context(), acrossArgs("apply", slices.Concat(twoTargets(), mode)...)...)
				wantCode(t, r, exitService)
				if !strings.Contains(r.stderr, "2 instance(s) in 1 target(s) would be changed for good ("+memberA+"/eu-west-1: "+ids[0]+", "+ids[1]+")") ||
					!strings.Contains(r.stderr, "nothing was changed in any target: give --accept-irreversible") {
					t.Errorf("stderr:\n%s", r.stderr)
				}
				if got := e.changes(t, "eu-west-1", mgmtID, memberA); got[mgmtID]+got[memberA] != 0 {
					t.Errorf("changes sent: %v", got)
				}
				doc := parseJSON(t, r.stdout).(map[string]any)
				if got := target(t, doc, memberA, "eu-west-1")["Irreversible"]; !cmp.Equal(got, []any{ids[0], ids[1]}) {
					t.Errorf("the plan's Irreversible: %v", got)
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("the journal directory is left behind: %v", err)
				}

				r = e.run(t, t.Context(), acrossArgs("apply", slices.Concat(twoTargets(), mode, []string{"--accept-irreversible"})...)...)
				wantCode(t, r, exitOK)
				if got := e.changes(t, "eu-west-1", mgmtID, memberA); got[mgmtID] != 2 || got[memberA] != 2 {
					t.Errorf("changes sent with --accept-irreversible: %v", got)
				}
			})
		})
	}
}

// journalFiles returns the names of the files of dir.
func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// launchKinds launches instances of several kinds of options in account's
// region.
func (e *orgEnv) launchKinds(t *testing.T, account, region string, n int) []string {
	t.Helper()
	kinds := []*types.InstanceMetadataOptionsRequest{
		optional,
		{HttpTokens: types.HttpTokensStateOptional, InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled},
		{HttpTokens: types.HttpTokensStateOptional, HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled},
	}
	var ids []string
	for i := range n {
		got, err := e.ec2(t, account, region).Launch(1, func(o *fake.LaunchOptions) { o.MetadataOptions = kinds[i%len(kinds)] })
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

// An apply across targets with --journal DIR, interrupted once every change
// was sent, writes one journal a target; apply --resume DIR finishes every
// target without changing any instance twice; undo DIR restores every
// instance of every target to the five options it had.
func TestJournalsAcrossTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnvWith(t, func(o *fake.Options) { o.ApplyDelay = 5 * time.Minute }, memberA)
		flags := []string{"--organization-role", testRole, "--regions", "eu-west-1,us-east-1"}
		ids, before := map[string][]string{}, map[string]map[string]string{}
		total := 0
		for i, k := range []string{mgmtID + "/eu-west-1", mgmtID + "/us-east-1", memberA + "/eu-west-1", memberA + "/us-east-1"} {
			account, region, _ := strings.Cut(k, "/")
			ids[k] = e.launchKinds(t, account, region, 2+i)
			before[k] = fiveOptions(t, e.ec2(t, account, region), ids[k])
			total += len(ids[k])
		}
		sent := func() int {
			n := 0
			for k := range ids {
				account, region, _ := strings.Cut(k, "/")
				n += e.ec2(t, account, region).Calls("ModifyInstanceMetadataOptions")
			}
			return n
		}
		dir := filepath.Join(t.TempDir(), "run")

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() { done <- e.run(t, ctx, acrossArgs("apply", append(flags, "--journal", dir)...)...) }()
		synctest.Wait() // every change sent; apply waits for EC2 to apply them
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		if n := sent(); n != total {
			t.Fatalf("%d changes sent before the interruption, want %d", n, total)
		}
		want := []string{mgmtID + "-eu-west-1.jsonl", mgmtID + "-us-east-1.jsonl", memberA + "-eu-west-1.jsonl", memberA + "-us-east-1.jsonl"}
		slices.Sort(want)
		if got := journalFiles(t, dir); !slices.Equal(got, want) {
			t.Errorf("journals %v, want %v", got, want)
		}
		if !strings.Contains(r.stderr, "the journals in "+dir+" record what was done: finish the run with imdsopts apply --resume "+dir+
			" --regions eu-west-1,us-east-1 --organization-role "+testRole) {
			t.Errorf("stderr %q", r.stderr)
		}

		r = e.run(t, t.Context(), slices.Concat([]string{"apply", "--resume", dir}, flags, []string{"--query", "Counts.applied"})...)
		wantCode(t, r, exitOK)
		if strings.TrimSpace(r.stdout) != "14" {
			t.Errorf("resume: applied %q, want 14\n%s", r.stdout, r.stderr)
		}
		if n := sent(); n != total {
			t.Errorf("%d changes after the resume, want still %d: an instance was changed twice", n, total)
		}
		for k, list := range ids {
			account, region, _ := strings.Cut(k, "/")
			for _, id := range list {
				if got := currentOptions(t, e.ec2(t, account, region), id); got.HttpTokens != "required" || got.State != "applied" {
					t.Errorf("%s %s after resume: %+v", k, id, got)
				}
			}
		}

		r = e.run(t, t.Context(), slices.Concat([]string{"undo", dir}, flags, []string{"--query", "[Counts.\"rolled-back\", TargetsFailed]", "--output", "text"})...)
		wantCode(t, r, exitOK)
		if r.stdout != "14\t0\n" {
			t.Errorf("undo: %q\n%s", r.stdout, r.stderr)
		}
		for k, list := range ids {
			account, region, _ := strings.Cut(k, "/")
			if diff := cmp.Diff(before[k], fiveOptions(t, e.ec2(t, account, region), list)); diff != "" {
				t.Errorf("%s: options after undo (-before +after):\n%s", k, diff)
			}
		}
		if !strings.Contains(r.stderr, "imdsopts: undo: 14 instance(s) restored, 0 had their options before already, 0 left to a person, 0 failed, 0 not attempted, in 4 target(s)") {
			t.Errorf("undo stderr %q", r.stderr)
		}
		for _, name := range want {
			recs := records(t, filepath.Join(dir, name))
			if count(recs, "header:apply") != 1 || count(recs, "header:resume") != 1 || count(recs, "header:undo") != 1 {
				t.Errorf("%s: records %v", name, recs)
			}
		}
	})
}

// A journal of another target, or one that is not a journal, fails its own
// target only: the others are undone. The exit is 255: a journal's fault,
// after calls were made.
func TestUndoAcrossTargetsBadJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, memberB)
		flags := []string{"--organization-role", testRole, "--regions", "eu-west-1"}
		for _, a := range []string{mgmtID, memberA, memberB} {
			e.launch(t, a, "eu-west-1", 2)
		}
		dir := filepath.Join(t.TempDir(), "run")
		r := e.run(t, t.Context(), acrossArgs("apply", append(flags, "--journal", dir)...)...)
		wantCode(t, r, exitOK)
		jd := func(a string) string { return filepath.Join(dir, a+"-eu-west-1.jsonl") }
		// memberA's journal is replaced by memberB's (a copy under the wrong
		// name); memberB's by text that is no journal.
		b, err := os.ReadFile(jd(memberB))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jd(memberA), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jd(memberB), []byte("not a journal\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r = e.run(t, t.Context(), slices.Concat([]string{"undo", dir}, flags)...)
		wantCode(t, r, exitOther)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if d := target(t, doc, mgmtID, "eu-west-1"); d["Error"] != nil || d["Counts"].(map[string]any)["rolled-back"] != 2.0 {
			t.Errorf("the good target: %v", d)
		}
		for _, a := range []string{memberA, memberB} {
			d := target(t, doc, a, "eu-west-1")
			if msg, _ := d["Error"].(string); !strings.Contains(msg, jd(a)) {
				t.Errorf("%s: error %q does not name its journal", a, msg)
			}
			if n := e.ec2(t, a, "eu-west-1").Calls("ModifyInstanceMetadataOptions"); n != 2 {
				t.Errorf("%s: %d changes, want only the apply's 2", a, n)
			}
		}
		if msg, _ := target(t, doc, memberA, "eu-west-1")["Error"].(string); !strings.Contains(msg, memberB) {
			t.Errorf("the journal of another account: %q", msg)
		}
		if doc["TargetsFailed"] != 2.0 || !strings.Contains(r.stderr, "2 of 3 target(s) failed") {
			t.Errorf("TargetsFailed %v, stderr:\n%s", doc["TargetsFailed"], r.stderr)
		}
	})
}

// A journal directory that holds a run already is refused before any
// call, and so are a file where a directory is wanted, a directory with no
// journal for --resume and undo, and the in-process emulator: exit 252.
func TestJournalDirChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		e.launch(t, memberA, "eu-west-1", 1)
		tmp := t.TempDir()
		dir := filepath.Join(tmp, "run")
		r := e.run(t, t.Context(), acrossArgs("apply", append(twoTargets(), "--journal", dir)...)...)
		wantCode(t, r, exitOK)
		file := filepath.Join(tmp, "file.jsonl")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		empty := filepath.Join(tmp, "empty")
		if err := os.Mkdir(empty, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			args []string
			want string
		}{
			{"a run already", acrossArgs("apply", append(twoTargets(), "--journal", dir)...),
				"journal directory " + dir + ": holds the journals of a run already (" + memberA + "/eu-west-1, " + mgmtID + "/eu-west-1): a directory records one run"},
			{"a file to apply", acrossArgs("apply", append(twoTargets(), "--journal", file)...), "journal directory " + file + ": not a directory"},
			{"no parent", acrossArgs("apply", append(twoTargets(), "--journal", filepath.Join(tmp, "none", "run"))...), "no such file or directory"},
			{"a file to resume", slices.Concat([]string{"apply", "--resume", file}, twoTargets()), "journal directory " + file + ": not a directory"},
			{"a file to undo", slices.Concat([]string{"undo", file}, twoTargets()), "journal directory " + file + ": not a directory"},
			{"nothing to undo", slices.Concat([]string{"undo", empty}, twoTargets()), "holds no journal of imdsopts apply --journal DIR"},
			{"nothing to resume", slices.Concat([]string{"apply", "--resume", filepath.Join(tmp, "none")}, twoTargets()), "no such file or directory"},
			{"the in-process emulator", slices.Concat([]string{"undo", dir, "--emulator", "--emulator-organization", "2"}, twoTargets()),
				"the in-process emulator is new in every run"},
		} {
			n := e.requestCount()
			r := e.run(t, t.Context(), tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%s: exit %d, stderr %q; want 252 and %q", tt.name, r.code, r.stderr, tt.want)
			}
			if e.requestCount() != n {
				t.Errorf("%s: %d requests before the error", tt.name, e.requestCount()-n)
			}
		}
		if got := journalFiles(t, empty); len(got) != 0 {
			t.Errorf("files made in a directory refused: %v", got)
		}
	})
}

// No credential of an assumed role is printed or written: not in the
// output or the errors of apply --journal DIR, apply --resume DIR and undo
// DIR across targets (with --debug, which logs the requests and answers),
// not in any journal.
func TestJournalsAcrossTargetsHoldNoCredential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.launch(t, memberA, "eu-west-1", 2)
		e.launch(t, mgmtID, "eu-west-1", 1)
		dir := filepath.Join(t.TempDir(), "run")
		flags := []string{"--organization-role", testRole, "--regions", "eu-west-1"}
		var out strings.Builder
		for _, tt := range []struct {
			args []string
			code int
		}{
			// The account without the role fails the apply; it has no
			// journal, so resume and undo have nothing to do there.
			{acrossArgs("apply", append(flags, "--journal", dir, "--debug")...), exitService},
			{slices.Concat([]string{"apply", "--resume", dir, "--output", "text"}, flags), exitOK},
			{slices.Concat([]string{"undo", dir, "--debug"}, flags), exitOK},
		} {
			r := e.run(t, t.Context(), tt.args...)
			if r.code != tt.code {
				t.Errorf("%s: exit %d, want %d\n%s", strings.Join(tt.args, " "), r.code, tt.code, r.stderr)
			}
			if tt.code == exitOK && !strings.Contains(r.stderr, "1 target(s) of the target flags have no journal in "+dir) {
				t.Errorf("%s: stderr does not note the target without a journal:\n%s", strings.Join(tt.args, " "), r.stderr)
			}
			out.WriteString(r.stdout + r.stderr)
		}
		if !strings.Contains(out.String(), "AssumeRole") {
			t.Error("the debug log does not show the AssumeRole call")
		}
		for _, name := range journalFiles(t, dir) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			out.Write(b)
		}
		e.checkNoCredential(t, "apply, resume and undo with --journal", out.String())
	})
}

// A journal in the directory of a target the flags do not reach (here a
// Region not named) is never left out unnoticed: its target fails, with
// why; the others are undone.
func TestUndoAcrossTargetsJournalNotReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		e.launch(t, memberA, "eu-west-1", 1)
		e.launch(t, memberA, "us-east-1", 1)
		dir := filepath.Join(t.TempDir(), "run")
		r := e.run(t, t.Context(), acrossArgs("apply", "--role-arn", "arn:aws:iam::"+memberA+":role/"+testRole, "--regions", "eu-west-1,us-east-1", "--journal", dir)...)
		wantCode(t, r, exitOK)
		r = e.run(t, t.Context(), "undo", dir, "--role-arn", "arn:aws:iam::"+memberA+":role/"+testRole, "--regions", "eu-west-1")
		wantCode(t, r, exitOther)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if d := target(t, doc, memberA, "eu-west-1"); d["Error"] != nil || d["Counts"].(map[string]any)["rolled-back"] != 1.0 {
			t.Errorf("the target named: %v", d)
		}
		if msg, _ := target(t, doc, memberA, "us-east-1")["Error"].(string); !strings.Contains(msg, "not a target of the target flags") {
			t.Errorf("the journal of a Region not named: error %q", msg)
		}
		if got := currentOptions(t, e.ec2(t, memberA, "us-east-1"), "i-00000000000000001").HttpTokens; got != types.HttpTokensStateRequired {
			t.Errorf("the Region not named was undone: %s", got)
		}
	})
}

// A rollout across targets interrupted in its canary's bake is resumed
// with --resume DIR; where an account began to enforce IMDSv2 since, the
// resume of that target changes nothing without --accept-irreversible
// (exit 254, as for one account), and the other target finishes.
func TestResumeAcrossTargetsRefusesIrreversible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		e.launch(t, mgmtID, "eu-west-1", 3)
		e.launch(t, memberA, "eu-west-1", 3)
		dir := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			done <- e.run(t, ctx, acrossArgs("apply", append(twoTargets(), "--canary", "1", "--bake", "10m", "--journal", dir)...)...)
		}()
		time.Sleep(time.Minute) // in the canary's bake
		cancel()
		wantCode(t, <-done, exitInterrupted)
		if got := e.changes(t, "eu-west-1", mgmtID, memberA); got[mgmtID] != 1 || got[memberA] != 1 {
			t.Fatalf("changes before the interruption: %v, want each canary's", got)
		}
		enforceIMDSv2(t, e.ec2(t, memberA, "eu-west-1"))
		// The gate of the instances left, as the apply had it: off.
		r := e.run(t, t.Context(), slices.Concat([]string{"apply", "--resume", dir, "--min-imdsv1-free-days", "0"}, twoTargets())...)
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if msg, _ := target(t, doc, memberA, "eu-west-1")["Error"].(string); !strings.Contains(msg, "give --accept-irreversible to go on") {
			t.Errorf("the enforcing target: %q", msg)
		}
		if d := target(t, doc, mgmtID, "eu-west-1"); d["Error"] != nil || d["Counts"].(map[string]any)["applied"] != 3.0 {
			t.Errorf("the other target: %v", d)
		}
		if got := e.changes(t, "eu-west-1", mgmtID, memberA); got[mgmtID] != 3 || got[memberA] != 1 {
			t.Errorf("changes after the resume: %v, want all 3 of %s and still 1 of %s", got, mgmtID, memberA)
		}
		r = e.run(t, t.Context(), slices.Concat([]string{"apply", "--resume", dir, "--accept-irreversible"}, twoTargets())...)
		wantCode(t, r, exitOK)
		if got := e.changes(t, "eu-west-1", mgmtID, memberA); got[mgmtID] != 3 || got[memberA] != 3 {
			t.Errorf("changes after the resume with --accept-irreversible: %v", got)
		}
	})
}
