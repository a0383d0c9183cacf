package ocistore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// A registry that requires an account: credentials from the options (what
// credentials: hands over), refused without or with a wrong one, and never
// in a message.
func TestCredentialsFromOptions(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t, testservers.WithRegistryAuth())
	s := conn(t).Storage()
	src := writeFile(t, "data.txt", "private data\n", 0o644)
	u := "oci://" + reg.Host + "/private//data.txt"
	account := map[string]string{"username": reg.Username, "password": reg.Password}

	if _, err := put(t, s, src, u, account); err != nil {
		t.Fatalf("Put with the account: %v", err)
	}
	getFileContent(t, s, u, account, "private data\n")
	// A personal access token goes as the password of username.
	if _, _, err := get(t, s, u, map[string]string{"username": reg.Username, "token": reg.Password}); err != nil {
		t.Errorf("Get with username and token: %v", err)
	}

	const wrong = "wrong-password-4711"
	bad := map[string]string{"username": reg.Username, "password": wrong}
	basic := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + wrong))
	for name, op := range map[string]func() error{
		"Put without an account": func() error { _, err := put(t, s, src, u, nil); return err },
		"Get without an account": func() error { _, _, err := get(t, s, u, nil); return err },
		"Put, wrong password":    func() error { _, err := put(t, s, src, "oci://"+reg.Host+"/private//other.txt", bad); return err },
		"Get, wrong password":    func() error { _, _, err := get(t, s, u, bad); return err },
		"Stat, wrong password": func() error {
			_, err := s.Stat(t.Context(), &storage.StatRequest{URL: u, Options: bad})
			return err
		},
	} {
		err := op()
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s: %v, want fs.ErrPermission", name, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, basic) || strings.Contains(msg, "\n") {
			t.Errorf("%s: the message shows the credential or spans lines: %q", name, msg)
		}
	}
	// The refused push left nothing behind.
	if _, _, err := get(t, s, "oci://"+reg.Host+"/private//other.txt", account); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after a refused Put: %v, want fs.ErrNotExist", err)
	}
}

// Without options, the account comes from the docker config: the auths of
// config.json, and a credential helper it names.
func TestCredentialsFromDockerConfig(t *testing.T) {
	noDockerConfig(t)
	reg := testservers.StartRegistry(t, testservers.WithRegistryAuth())
	s := conn(t).Storage()
	src := writeFile(t, "data.txt", "from the docker config\n", 0o644)
	u := "oci://" + reg.Host + "/private//data.txt"

	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
	if _, err := put(t, s, src, u, nil); err != nil {
		t.Fatalf("Put with the docker config's auths: %v", err)
	}

	// A credential helper (docker-credential-<name> on PATH), as docker
	// login with a credential store leaves it.
	bin := t.TempDir()
	helper := fmt.Sprintf("#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = %q ] && printf '{\"Username\":\"%%s\",\"Secret\":\"%%s\"}' %q %q && exit 0\necho credentials not found; exit 1\n",
		reg.Host, reg.Username, reg.Password)
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-mmbuildtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"credHelpers": {"`+reg.Host+`": "mmbuildtest"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	getFileContent(t, s, u, nil, "from the docker config\n")
	// Options win over the docker config.
	if _, _, err := get(t, s, u, map[string]string{"username": reg.Username, "password": "not-it"}); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Get with a wrong password in the options: %v, want fs.ErrPermission", err)
	}
}
