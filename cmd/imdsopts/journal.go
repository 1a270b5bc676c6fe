package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/userfile"
)

// Journal files: apply --journal FILE writes a new one; apply --resume FILE
// and undo FILE read one, check it, and append to it. The library writes
// and syncs each record (fleet.Options.Journal); here the file is chosen,
// locked against a second run, and checked before any call.

// maxJournalBytes bounds what is read of a journal: far more than the
// journal of a run over 100,000 instances, rolled back and undone.
const maxJournalBytes = 1 << 30

// errLocked: another process holds the journal's lock.
var errLocked = errors.New("locked")

// journalFile is a journal open for a run.
type journalFile struct {
	path string
	f    *os.File
	// w is what the library writes to: f, or what a test wraps it in.
	w io.Writer
	// created is true when this run created the file: it is removed again
	// if the run ends before writing anything in it.
	created bool
}

// badJournal is an error about the journal file: a usage error (exit 252),
// before anything is sent, that names the file as given.
func badJournal(path, format string, args ...any) error {
	return usageErrorf("journal %s: %s", shellQuote(path), fmt.Sprintf(format, args...))
}

// openNewJournal opens the journal of apply --journal: a file that does not
// exist yet, or an empty regular file (made by mktemp, or left by a run that
// ended before its first record). A journal holds one run: a file with
// records of another is never appended to.
func openNewJournal(path, resume string) (*journalFile, error) {
	if path == "" {
		return nil, usageErrorf(`--journal "": must name a new file`)
	}
	created := true
	// A FIFO must not block the run before it is refused.
	f, err := userfile.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if errors.Is(err, fs.ErrExist) {
		created = false
		f, err = userfile.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	switch {
	case errors.Is(err, userfile.ErrNotRegular):
		return nil, badJournal(path, "%v: a journal must keep every record, to be read back by apply --resume and undo", err)
	case err != nil:
		return nil, badJournal(path, "%v", pathError(err))
	}
	j := &journalFile{path: path, f: f, w: f, created: created}
	if err := j.lock(); err != nil {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		err = badJournal(path, "%v", pathError(err))
	case st.Size() > 0:
		err = badJournal(path, "the file exists and is not empty: a journal records one run; give a new file "+
			"(to go on with the run it records: %s)", resume)
	case created:
		err = syncDir(path)
		if err != nil {
			err = badJournal(path, "sync its directory: %v", pathError(err))
		}
	}
	if err != nil {
		j.close()
		return nil, err
	}
	return j, nil
}

// openJournal opens the journal of apply --resume or undo, to read it and
// append to it.
func openJournal(path string) (*journalFile, error) {
	f, err := userfile.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	switch {
	case errors.Is(err, userfile.ErrNotRegular):
		return nil, badJournal(path, "%v, so not a journal of imdsopts apply", err)
	case err != nil:
		return nil, badJournal(path, "%v", pathError(err))
	}
	j := &journalFile{path: path, f: f, w: f}
	err = j.lock()
	if err == nil {
		var st os.FileInfo
		switch st, err = f.Stat(); {
		case err != nil:
			err = badJournal(path, "%v", pathError(err))
		case st.Size() > maxJournalBytes:
			err = badJournal(path, "%d bytes: larger than any journal of imdsopts apply (at most %d MiB)", st.Size(), maxJournalBytes>>20)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *journalFile) lock() error {
	switch err := lockFile(j.f); {
	case errors.Is(err, errLocked):
		return badJournal(j.path, "another imdsopts run is writing it: wait for it to end (or stop it) first")
	case err != nil:
		return badJournal(j.path, "lock: %v", err)
	}
	return nil
}

// close closes the file; one this run created and left empty is removed,
// as nothing was recorded in it.
func (j *journalFile) close() {
	if j == nil {
		return
	}
	if j.created {
		if st, err := j.f.Stat(); err == nil && st.Size() == 0 {
			os.Remove(j.path)
		}
	}
	j.f.Close()
}

// pathError returns err without the path a *fs.PathError repeats whole:
// the caller names the file, shortened.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// journalHead is what the first record of a journal says, read before the
// account is known: the account and Region it was written in, and the
// waves of its plan.
type journalHead struct {
	Record  string       `json:"record"`
	Account *string      `json:"account"`
	Region  string       `json:"region"`
	Waves   [][]string   `json:"waves"`
	Rollout *headRollout `json:"rollout"`
}

type headRollout struct {
	Bake string `json:"bake"`
}

// head reads the journal's first record, leniently: what it does not say
// is left empty, and ReadJournal then says what is wrong with it.
func (j *journalFile) head() journalHead {
	var h journalHead
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return h
	}
	line, _ := bufio.NewReader(&limitedReader{r: j.f, n: maxJournalBytes}).ReadBytes('\n')
	if json.Unmarshal(line, &h) != nil || h.Record != "header" {
		return journalHead{}
	}
	return h
}

// read reads the journal with fleet.ReadJournal for account and region.
// A journal it refuses is a usage error naming the file and the line.
func (j *journalFile) read(account, region string) (*fleet.Journal, error) {
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return nil, badJournal(j.path, "%v", pathError(err))
	}
	jr, err := fleet.ReadJournal(&limitedReader{r: j.f, n: maxJournalBytes}, account, region)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "imdsopts: ")
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "journal: "), "journal ")
		if errors.Is(err, errJournalTooLarge) {
			msg = fmt.Sprintf("larger than any journal of imdsopts apply (at most %d MiB)", maxJournalBytes>>20)
		}
		return nil, badJournal(j.path, "%s", msg)
	}
	return jr, nil
}

// errJournalTooLarge: the journal goes on past maxJournalBytes.
var errJournalTooLarge = errors.New("journal too large")

// limitedReader reads at most n bytes of r, then fails: unlike
// io.LimitReader, it never ends a journal early as if that were its end,
// which would read a record cut short at the limit as the last one.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errJournalTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// shellPlain is a path a shell takes as it is.
var shellPlain = regexp.MustCompile(`^[A-Za-z0-9_./:@%+,=-]+$`)

// shellQuote writes a journal's path as a shell takes it, whole: the notes
// give commands to copy. Control characters are escaped later, as in any
// message.
func shellQuote(path string) string {
	if shellPlain.MatchString(path) {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
