//go:build unix

package userfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO nobody writes to (or reads from) is refused at once, however it
// is opened: os.Open would wait for a writer for ever.
func TestFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR} {
		f, err := OpenFile(p, flag, 0)
		var nr *NotRegularError
		if !errors.As(err, &nr) || nr.Kind != "a named pipe (FIFO)" || err.Error() != "must be a regular file, not a named pipe (FIFO)" {
			t.Errorf("OpenFile(fifo, %#x): %v", flag, err)
		}
		if f != nil {
			t.Errorf("OpenFile(fifo, %#x) returned a file", flag)
		}
	}
	if err := Check(p); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Check(fifo): %v", err)
	}
}
