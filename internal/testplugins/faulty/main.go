// Command faulty is a plugin that misbehaves on purpose, for the tests of
// the core's error handling. $MMBUILD_PLUGIN_TEST_FAULT chooses how:
//
//	stdout-junk   print to stdout before the handshake
//	crash-build   serve, then crash (panic) during Build
//	crash-get     serve, then crash during Get
//	exit-start    exit 3 before serving
//	dead-address  hand-shake to an address nobody answers on, then sleep
//
// It serves handler "make" and storage "file" so it can stand in for either.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

type faulty struct{ mode string }

func (f faulty) Build(context.Context, *handler.BuildRequest) (*handler.BuildResponse, error) {
	if f.mode == "crash-build" {
		panic("faulty plugin: crash during Build")
	}
	return &handler.BuildResponse{}, nil
}

func (f faulty) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return nil, os.ErrNotExist
}

func (f faulty) Get(context.Context, *storage.GetRequest) (*storage.GetResponse, error) {
	if f.mode == "crash-get" {
		panic("faulty plugin: crash during Get")
	}
	return nil, os.ErrNotExist
}

func (f faulty) Put(context.Context, *storage.PutRequest) (*storage.PutResponse, error) {
	return &storage.PutResponse{}, nil
}

func main() {
	mode := os.Getenv("MMBUILD_PLUGIN_TEST_FAULT")
	switch mode {
	case "stdout-junk":
		fmt.Println("hello from a plugin that talks too early")
	case "exit-start":
		fmt.Fprintln(os.Stderr, "faulty plugin: refusing to start")
		os.Exit(3)
	case "dead-address":
		if len(os.Args) > 1 && os.Args[1] == "describe" {
			break // describes itself like any other
		}
		// A listener that accepts and never speaks: the connection hangs.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(4)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		fmt.Printf("1|1|tcp|%s|grpc\n", l.Addr())
		time.Sleep(time.Hour)
	}
	f := faulty{mode: mode}
	// It stands in for the plugin it is installed as, and serves only what
	// that one serves: two plugins of a lock may not serve one kind.
	// describe runs with a clean environment, so the binary's name decides.
	name := os.Getenv("MMBUILD_PLUGIN_TEST_FAULT_NAME")
	if name == "" {
		name = strings.TrimPrefix(filepath.Base(os.Args[0]), plugin.BinaryPrefix)
	}
	serve := plugin.WithHandler("make", f)
	if name == "file" {
		serve = plugin.WithStorage("file", f)
	}
	plugin.Serve(plugin.WithName(name), serve)
}
