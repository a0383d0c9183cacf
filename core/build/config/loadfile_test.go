package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeConfig writes data as dir/name and returns its path.
func writeConfig(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestLoadFile(t *testing.T) {
	const withVar = "handler:\n  id: make\n  params: [\"VERSION=${VERSION}\"]\n"
	env := lookupIn(map[string]string{"VERSION": "1.2"})

	t.Run("path given", func(t *testing.T) {
		path := writeConfig(t, t.TempDir(), "other.yaml", withVar)
		c, err := LoadFile(path, env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Path != path || len(c.Handler.Params) != 1 || c.Handler.Params[0] != "VERSION=1.2" {
			t.Errorf("LoadFile = path %q, params %q; want %q, [VERSION=1.2]", c.Path, c.Handler.Params, path)
		}
	})

	t.Run("found in the current folder", func(t *testing.T) {
		dir := t.TempDir()
		writeConfig(t, dir, LegacyFileName, "handler:\n  id: legacy\n")
		writeConfig(t, dir, FileName, withVar)
		t.Chdir(dir)
		c, err := LoadFile("", env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Path != filepath.Join(dir, FileName) || c.Handler.Params[0] != "VERSION=1.2" {
			t.Errorf("LoadFile(\"\") = path %q, params %q; want %s, [VERSION=1.2]", c.Path, c.Handler.Params, FileName)
		}
	})

	t.Run("legacy name found in the current folder", func(t *testing.T) {
		dir := t.TempDir()
		writeConfig(t, dir, LegacyFileName, "runner:\n  id: legacy\n")
		t.Chdir(dir)
		c, err := LoadFile("", env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Path != filepath.Join(dir, LegacyFileName) || c.Handler.ID != "legacy" {
			t.Errorf("LoadFile(\"\") = path %q, handler %q; want %s, legacy", c.Path, c.Handler.ID, LegacyFileName)
		}
	})

	t.Run("none in the current folder", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if _, err := LoadFile("", env); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadFile(\"\") in an empty folder = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), FileName)
		if _, err := LoadFile(path, env); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("undefined variable", func(t *testing.T) {
		path := writeConfig(t, t.TempDir(), FileName, withVar)
		_, err := LoadFile(path, lookupIn(nil))
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Fatalf("LoadFile with VERSION unset = %v, want *Error", err)
		}
		want := path + `:3:12: undefined variable "VERSION" in handler.params[0]`
		if err.Error() != want {
			t.Errorf("LoadFile with VERSION unset = %q, want %q", err, want)
		}
	})

	t.Run("nil lookup is the running environment", func(t *testing.T) {
		t.Setenv("VERSION", "3.4")
		path := writeConfig(t, t.TempDir(), FileName, withVar)
		c, err := LoadFile(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Handler.Params[0] != "VERSION=3.4" {
			t.Errorf("params = %q, want [VERSION=3.4]", c.Handler.Params)
		}
	})
}

// -f naming a named pipe is refused at once, without opening it: opening a
// FIFO for reading waits for a writer, and no signal ends that wait.
func TestLoadRefusesANamedPipeWithoutWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mmbuild.yaml")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := LoadFile(path, nil)
		done <- err
	}()
	select {
	case err := <-done:
		var cerr *Error
		if !errors.As(err, &cerr) || err.Error() != path+": not a regular file (a pipe, a device or a folder): a config is read from a file" {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		// Let the blocked open go, so the test ends.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("LoadFile blocked opening a named pipe")
	}
}
