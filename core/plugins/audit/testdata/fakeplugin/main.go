// Command fakeplugin is a Go binary that does not use the SDK; the audit
// tests copy it under several names, and its name chooses how it answers
// `describe`:
//
//	mmbuild-plugin-junk*   valid JSON followed by junk
//	mmbuild-plugin-api2*   JSON with api_version 2
//	mmbuild-plugin-fail*   "boom" on stderr, exit status 3
//	mmbuild-plugin-panic*  a panic
//	mmbuild-plugin-slow*   no answer for a minute
//	mmbuild-plugin-orphan* starts `sleep 6543` (its pid in "orphan-pid"
//	                       beside the binary), then no answer for a minute
//	mmbuild-plugin-big*    2 MiB of output
//	anything else          a valid api_version 1 answer
//
// Every run first appends its name to "describe-log" beside the binary, so
// tests can tell which binaries were executed, and refuses to answer when
// its environment holds more than PATH.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "mmbuild-plugin-")
	log, err := os.OpenFile(filepath.Join(filepath.Dir(os.Args[0]), "describe-log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(log, name)
	log.Close()

	if len(os.Args) != 2 || os.Args[1] != "describe" {
		fmt.Fprintln(os.Stderr, "usage: describe")
		os.Exit(2)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			fmt.Fprintf(os.Stderr, "unexpected environment variable %s\n", kv)
			os.Exit(4)
		}
	}
	info := map[string]any{
		"name":        name,
		"version":     "1.2.3",
		"sdk_version": "none",
		"api_version": 1,
		"kinds":       []string{"storage:" + name},
		"future":      "fields unknown to this mmbuild are allowed",
	}
	switch {
	case strings.HasPrefix(name, "junk"):
		json.NewEncoder(os.Stdout).Encode(info)
		fmt.Println("Hello from a plugin that prints to stdout")
		return
	case strings.HasPrefix(name, "api2"):
		info["api_version"] = 2
		info["version"] = "9.0.0"
	case strings.HasPrefix(name, "fail"):
		fmt.Fprintln(os.Stderr, "starting")
		fmt.Fprintln(os.Stderr, "boom: cannot describe")
		os.Exit(3)
	case strings.HasPrefix(name, "panic"):
		panic("kaput")
	case strings.HasPrefix(name, "slow"):
		time.Sleep(time.Minute)
	case strings.HasPrefix(name, "orphan"):
		child := exec.Command("sleep", "6543")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pid := filepath.Join(filepath.Dir(os.Args[0]), "orphan-pid")
		if err := os.WriteFile(pid, []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		time.Sleep(time.Minute)
	case strings.HasPrefix(name, "big"):
		os.Stdout.Write(make([]byte, 2<<20))
		return
	}
	json.NewEncoder(os.Stdout).Encode(info)
}
