package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/graph"
	"github.com/mmbuild/mmbuild/core/plugins/install"
	"github.com/mmbuild/mmbuild/core/plugins/pluginhost"
)

// graphSources reads the attestations to draw: each a path, an
// attestation's URL (its last element ends in .json or .jsonl), or a
// staging URL (MMBUILD_STAGING_URL), read as evidence.PublishedNames says.
// URLs are fetched through the storage plugins of the project in the
// current folder (open starts them once, when the first URL is met).
func graphSources(ctx context.Context, srcs []string, keyless bool, open func() (*pluginhost.Host, error)) ([]graph.File, error) {
	var host *pluginhost.Host
	files := make([]graph.File, 0, len(srcs))
	for _, src := range srcs {
		if !install.IsURL(src) {
			data, err := attestation.ReadFile(src)
			if err != nil {
				return nil, fmt.Errorf("reading attestation %s: %w", src, err)
			}
			files = append(files, graph.File{Name: src, Data: data})
			continue
		}
		if host == nil {
			var err error
			if host, err = open(); err != nil {
				return nil, err
			}
		}
		f, err := fetchGraphSource(ctx, host, src, keyless)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// fetchGraphSource reads one URL: the attestation it names, or the build
// published at a staging URL.
func fetchGraphSource(ctx context.Context, host *pluginhost.Host, src string, keyless bool) (graph.File, error) {
	shown := remote.Redact(src)
	if base := path.Base(strings.SplitN(src, "?", 2)[0]); strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".jsonl") {
		data, err := readAttestation(ctx, host, src)
		if err != nil {
			return graph.File{}, fmt.Errorf("reading attestation %s: %w", shown, err)
		}
		return graph.File{Name: shown, Data: data}, nil
	}
	// The statement is published last: without it the build is not complete.
	if _, err := readAttestation(ctx, host, remote.Join(src, evidence.StatementName)); err != nil {
		if errors.Is(err, remote.ErrNotFound) {
			return graph.File{}, fmt.Errorf("reading staging URL %s: no complete build there (no %s)", shown, evidence.StatementName)
		}
		return graph.File{}, fmt.Errorf("reading staging URL %s: %w", shown, err)
	}
	for _, name := range evidence.PublishedNames(keyless) {
		u := remote.Join(src, name)
		data, err := readAttestation(ctx, host, u)
		switch {
		case errors.Is(err, remote.ErrNotFound):
			continue
		case err != nil:
			return graph.File{}, fmt.Errorf("reading staging URL %s: %s: %w", shown, name, err)
		}
		return graph.File{Name: remote.Redact(u), Data: data}, nil
	}
	// Not reached: the statement was there a moment ago; say so plainly.
	return graph.File{}, fmt.Errorf("reading staging URL %s: %s went away while it was read", shown, evidence.StatementName)
}
