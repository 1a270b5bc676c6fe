// Package userfile opens the files a person names, on the command line or
// in the environment, and refuses, before it can block, what is not a
// regular file: open(2) of a FIFO without a writer waits for one for ever,
// and reading a device such as /dev/zero or /dev/tty never ends or takes
// input meant for something else; a directory or a socket is a mistake.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular matches every [NotRegularError] with errors.Is.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError is the error for a path that names something other than
// a regular file.
type NotRegularError struct {
	// Kind says what the path names: "a named pipe (FIFO)", "a device",
	// "a directory", "a socket" or "not a regular file".
	Kind string
}

// Error says the rule and what the path names instead.
func (e *NotRegularError) Error() string { return "must be a regular file, not " + e.Kind }

// Is reports whether target is ErrNotRegular.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// kind returns the error for mode, or nil for a regular file.
func kind(mode fs.FileMode) error {
	switch {
	case mode.IsRegular():
		return nil
	case mode&fs.ModeNamedPipe != 0:
		return &NotRegularError{Kind: "a named pipe (FIFO)"}
	case mode&fs.ModeDevice != 0, mode&fs.ModeCharDevice != 0:
		return &NotRegularError{Kind: "a device"}
	case mode.IsDir():
		return &NotRegularError{Kind: "a directory"}
	case mode&fs.ModeSocket != 0:
		return &NotRegularError{Kind: "a socket"}
	}
	return &NotRegularError{Kind: "anything but a regular file (" + mode.Type().String() + ")"}
}

// Check returns a *NotRegularError when path names something other than a
// regular file, nil when it names a regular file, and the error of
// os.Stat otherwise (fs.ErrNotExist for a path that does not exist). It
// does not open path, so it cannot block; use it for a file another
// library opens.
func Check(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return kind(st.Mode())
}

// OpenFile opens path as os.OpenFile does, with O_NONBLOCK added so that
// opening a FIFO does not wait for its other end, and returns it only if it
// is a regular file; else it closes it and returns a *NotRegularError. An
// error of the open itself is returned as it is, unless path names
// something other than a regular file (a FIFO without a reader, opened
// for writing, fails with ENXIO), which is a *NotRegularError too.
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		var nr *NotRegularError
		if errors.As(Check(path), &nr) {
			return nil, nr
		}
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = kind(st.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Open opens path for reading, as OpenFile does.
func Open(path string) (*os.File, error) { return OpenFile(path, os.O_RDONLY, 0) }

// ReadFile reads the file path, opened with Open, and refuses one larger
// than limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}
