package userfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenAndCheck(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string // want: "" for a regular file, else the error
	}{
		{regular, ""},
		{link, ""}, // a link to a regular file is one
		{dir, "must be a regular file, not a directory"},
		{os.DevNull, "must be a regular file, not a device"},
		{filepath.Join(dir, "none"), "no such file or directory"},
	} {
		for name, fn := range map[string]func(string) error{
			"Check": Check,
			"Open": func(p string) error {
				f, err := Open(p)
				if err == nil {
					f.Close()
				}
				return err
			},
			"ReadFile": func(p string) error { _, err := ReadFile(p, 100); return err },
		} {
			err := fn(tt.path)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%s(%s): %v", name, tt.path, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("%s(%s): %v, want %q", name, tt.path, err, tt.want)
			case strings.HasPrefix(tt.want, "must") && !errors.Is(err, ErrNotRegular):
				t.Errorf("%s(%s): %v is not ErrNotRegular", name, tt.path, err)
			case strings.HasPrefix(tt.want, "no such") && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("%s(%s): %v is not fs.ErrNotExist", name, tt.path, err)
			}
		}
	}
	if _, err := ReadFile(regular, 3); err == nil || err.Error() != "larger than 3 bytes" {
		t.Errorf("ReadFile over the limit: %v", err)
	}
	if b, err := ReadFile(regular, 7); err != nil || string(b) != "content" {
		t.Errorf("ReadFile at the limit: %q, %v", b, err)
	}
}
