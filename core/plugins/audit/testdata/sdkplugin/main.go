// Command sdkplugin is a minimal plugin built with the mmbuild SDK; the
// audit tests build it as a real binary.
package main

import (
	"context"
	"errors"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

type store struct{}

func (store) Stat(context.Context, *storage.StatRequest) (*storage.StatResponse, error) {
	return nil, errors.ErrUnsupported
}

func (store) Get(context.Context, *storage.GetRequest) (*storage.GetResponse, error) {
	return nil, errors.ErrUnsupported
}

func (store) Put(context.Context, *storage.PutRequest) (*storage.PutResponse, error) {
	return nil, errors.ErrUnsupported
}

func main() {
	plugin.Serve(plugin.WithName("x"), plugin.WithStorage("x", store{}))
}
