package syftcat

import (
	"context"
	"errors"
	"testing"
)

type testKey struct{}

// The scanner's context is built once and shared; the request keeps its own
// values, deadline and cancellation.
func TestWithLicenseScanner(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), testKey{}, "request"))
	a, err := withLicenseScanner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := withLicenseScanner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a.(valuesFrom).also != b.(valuesFrom).also {
		t.Error("the license scanner was built twice")
	}
	if a.Value(testKey{}) != "request" || b.Value(testKey{}) != nil {
		t.Errorf("request values: %v, %v", a.Value(testKey{}), b.Value(testKey{}))
	}
	cancel()
	<-a.Done()
	if !errors.Is(a.Err(), context.Canceled) || b.Err() != nil {
		t.Errorf("cancellation: %v, %v", a.Err(), b.Err())
	}
}
