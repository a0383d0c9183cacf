package syftcat

import (
	"context"
	"sync"

	"github.com/anchore/syft/syft"
)

// licenseScanner is syft's license scanner, held in a context, built once a
// process. syft builds a new one in every CreateSBOM unless the context
// carries one, and building it (licensecheck's automaton of every license
// text) is most of a small artifact's catalog: ~0.3 s of CPU, and three
// quarters of the plugin's test time under -race. The scanner is read-only
// once built; syft shares one between its parallel catalogers.
var licenseScanner = sync.OnceValues(func() (context.Context, error) {
	return syft.SetContextLicenseScanner(context.Background(), SyftConfig("").Licenses)
})

// Prewarm builds the license scanner now, so that a plugin started with
// the run has it before the build's artifacts are catalogued.
func Prewarm() { _, _ = licenseScanner() }

// withLicenseScanner is ctx (its deadline, cancellation and values) that
// also carries the process's license scanner.
func withLicenseScanner(ctx context.Context) (context.Context, error) {
	held, err := licenseScanner()
	if err != nil {
		return nil, err
	}
	return valuesFrom{Context: ctx, also: held}, nil
}

// valuesFrom is a context whose values not found in Context are looked up
// in also; everything else is Context's.
type valuesFrom struct {
	context.Context
	also context.Context
}

func (c valuesFrom) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.also.Value(key)
}
