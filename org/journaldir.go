package org

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// JournalDir is a directory of journals of an operation across targets:
// one file a target, named ACCOUNT-REGION.jsonl (such as
// 111111111111-eu-west-1.jsonl), each the journal fleet.Apply writes to
// fleet.Options.Journal (see [Journal] for the format), whose header names
// the same account and Region.
//
// A journal a target, rather than one file for them all: each target's
// records are written and synced by its own writer, so no target waits for
// another's disk writes; each file is read back with [ReadJournal], which
// refuses one of another account or Region, so a journal renamed or copied
// to the wrong name is refused, not applied elsewhere; and a damaged file
// stops the resume or undo of its own target only.
type JournalDir string

// Path returns the path of t's journal in d. The path is always a file
// of d: an account or Region that is not one (such as "../x", which the
// operations refuse) has each byte other than a letter, a digit or "-"
// written as %XX, so that it names no other directory; the name is then
// not a target's, and Targets leaves it out.
func (d JournalDir) Path(t account.Target) string {
	return filepath.Join(string(d), journalName(t.Account)+"-"+journalName(t.Region)+".jsonl")
}

// journalName returns s for a journal's file name: as it is when it holds
// only letters, digits and "-" (as account IDs and Regions do), else with
// each other byte written as %XX.
func journalName(s string) string {
	plain := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
	}
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; plain(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Targets returns the targets that have a journal in d, by account then
// Region. Files whose names are not those of a target's journal are left
// out.
func (d JournalDir) Targets() ([]account.Target, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, fmt.Errorf("imdsopts: journal directory: %w", err)
	}
	var targets []account.Target
	for _, e := range entries {
		if t, ok := parseJournalName(e.Name()); ok && e.Type().IsRegular() {
			targets = append(targets, t)
		}
	}
	slices.SortFunc(targets, account.Target.Compare)
	return targets, nil
}

// parseJournalName returns the target whose journal is named name.
func parseJournalName(name string) (account.Target, bool) {
	base, ok := strings.CutSuffix(name, ".jsonl")
	id, region, dash := strings.Cut(base, "-")
	if !ok || !dash || !awsid.IsAccountID(id) || !awsid.IsRegion(region) {
		return account.Target{}, false
	}
	return account.Target{Account: id, Region: region}, true
}

// prepare makes d when it is missing, and refuses it when it holds a
// journal of any of targets: each journal holds one run.
func (d JournalDir) prepare(targets []account.Target) error {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return &imdsopts.ValidationError{Field: "Options.Journals", Value: check.Quote(string(d)), Rule: "must be a directory that can be made: " + err.Error()}
	}
	var errs []error
	for _, t := range targets {
		if _, err := os.Lstat(d.Path(t)); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, &imdsopts.ValidationError{Field: "Options.Journals", Value: check.Quote(string(d)),
				Rule: "must not hold a journal of " + t.String() + " already: resume or undo that run, or use another directory"})
		}
	}
	return errors.Join(errs...)
}

// create makes t's journal in d, which must not exist, and syncs the
// directory so that the file outlives a crash.
func (d JournalDir) create(t account.Target) (*os.File, error) {
	f, err := os.OpenFile(d.Path(t), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("imdsopts: %w: %w", fleet.ErrJournalWrite, err)
	}
	if err := syncDir(string(d)); err != nil {
		f.Close()
		return nil, fmt.Errorf("imdsopts: %w: %w", fleet.ErrJournalWrite, err)
	}
	return f, nil
}

// syncDir syncs the directory dir, so that a file made in it is found
// after a crash. File systems that cannot sync a directory are let be.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}

// open opens t's journal in d and reads it, for t's account and Region; the
// file is left open, for appending to the same journal.
func (d JournalDir) open(t account.Target) (*os.File, *fleet.Journal, error) {
	f, err := os.OpenFile(d.Path(t), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("imdsopts: journal: %w", err)
	}
	j, err := fleet.ReadJournal(f, t.Account, t.Region)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("imdsopts: journal %s: %w", d.Path(t), err)
	}
	return f, j, nil
}

// Resume finishes, for every target of ts, the run of Apply
// that its journal in dir records, as [fleet.Resume] does for one: with the
// target's clients and pacing, at most Concurrency targets at once,
// appending to the same journal. Each journal is read for its target's
// account and Region: a target whose journal is missing (an error matching
// fs.ErrNotExist), unreadable, or refused by ReadJournal or fleet.Resume
// (ErrBadJournal, ErrRolloutHalted) fails with why, and the others go on.
// Options.Fleet configures each; Journals is not used. To resume
// every journal of dir, take ts.Targets from [JournalDir.Targets].
//
// The results have every target of ts, by account then Region, each with
// its report (and error) as fleet.Resume returned them; the error matches
// ErrTargetFailed when any target failed, and the context's error when ctx
// ended. A nil ctx, a TargetSet without targets or Clients, an empty dir,
// or options every target would refuse, are an error matching ErrInvalid,
// before any call.
func Resume(ctx context.Context, ts TargetSet, dir JournalDir, optFns ...func(*Options)) (*TargetResults[*fleet.Report], error) {
	return journalTargets(ctx, ts, dir, optFns, fleet.Resume)
}

// Undo restores, for every target of ts, every instance the runs its
// journal in dir records may have changed, as [fleet.Undo] does for one:
// with the target's clients and pacing, at most Concurrency targets at
// once, appending to the same journal. Targets fail, and the others go on,
// as with [Resume], whose results and errors Undo shares.
func Undo(ctx context.Context, ts TargetSet, dir JournalDir, optFns ...func(*Options)) (*TargetResults[*fleet.Report], error) {
	return journalTargets(ctx, ts, dir, optFns, fleet.Undo)
}

// journalTargets runs op, fleet.Resume or fleet.Undo, on the journal of every
// target of ts in dir.
func journalTargets(ctx context.Context, ts TargetSet, dir JournalDir, optFns []func(*Options),
	op func(context.Context, imdsopts.API, *fleet.Journal, ...func(*fleet.Options)) (*fleet.Report, error)) (*TargetResults[*fleet.Report], error) {
	o, err := targetsOptions(optFns)
	errs := []error{liberr.Ctx(ctx), ts.check(), err}
	if dir == "" {
		errs = append(errs, liberr.Misuse("dir", `""`, "must be the directory of the journals"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rs := results[*fleet.Report](&ts)
	r := newTargetsRun(&o, len(rs), 0)
	eachTargetClients(ctx, r, &ts, rs, func(ctx context.Context, res *TargetResult[*fleet.Report], c account.Clients) (int, int) {
		t := res.Target
		api, err := fleetAPI(c)
		if err != nil {
			res.Err = err
			return 0, 0
		}
		f, j, err := dir.open(t)
		if err != nil {
			res.Err = err
			return 0, 0
		}
		defer f.Close()
		res.Result, res.Err = op(ctx, api, j, r.fleetFns(t, c, f)...)
		if res.Result == nil {
			return 0, 0
		}
		return len(res.Result.Items), 0
	})
	return finish(ctx, r, rs)
}
